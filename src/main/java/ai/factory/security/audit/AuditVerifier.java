package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.config.AuditConfig;
import ai.factory.security.audit.AuditVerification.Kind;
import ai.factory.security.audit.AuditVerification.Problem;
import org.jspecify.annotations.Nullable;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Checks the audit trail with only the audit public key: every record's hash and link, gap-free sequence numbers,
 * every digest's signature, its link to the digest before, the record hashes it signed, and that the records after
 * the last digest are no more than the cadence allows; then that the chain still extends every anchor given. Reads
 * through an {@link AuditSource}, the database or a running factory's API, trusting none of it.
 *
 * <p>The cadence that judges the unsigned tail is the one the last digest signs: whoever can write the database
 * cannot change it, and every writer signs its start record (which names its cadence) before it writes anything
 * else, so a site that changed its cadence has it signed before any record is judged by it. The site's own
 * configuration, which the verifier is given, is used only where no digest signs a cadence (a trail written before
 * digests signed one). A writer keeps the tail within the cadence in every commit ({@link Sealer}), so the tail
 * may be longer only if digests were deleted; by {@link #CLOCK_TOLERANCE} more, for clocks that differ between the
 * replicas that stamp records and the one that signs them.
 *
 * <p>The first broken record is reported, with what was found and what was expected; when {@code strict} is off, a
 * tail that breaks the cadence is a warning instead.
 */
public final class AuditVerifier {
    /** How much later than the cadence allows the oldest unsigned record may be, for clocks that disagree. */
    public static final Duration CLOCK_TOLERANCE = Duration.ofMinutes(1);
    private static final int RECORD_PAGE = 1000;
    private static final int DIGEST_PAGE = 100;
    private static final int RECENT_HASHES = 10_000;
    /** Unsigned records whose times are kept for the interval rule; a longer tail breaks the count rule first. */
    private static final int TAIL_TIMES = 100_000;

    private final AuditSource source;
    private final PublicKey publicKey;
    private final String keyId;
    private final AuditDigest.Cadence siteCadence;
    private final Supplier<List<AuditAnchor>> standingAnchors;

    /**
     * @param site the site's configuration, whose cadence judges a tail that no digest signs a cadence for
     * @param standingAnchors anchors every whole-chain check holds the chain to (the factory's home anchor)
     */
    public AuditVerifier(AuditSource source, PublicKey publicKey, AuditConfig site,
                         Supplier<List<AuditAnchor>> standingAnchors) {
        this.source = requireNonNull(source, "source is null");
        this.publicKey = requireNonNull(publicKey, "publicKey is null");
        this.keyId = AuditKey.keyId(publicKey);
        this.siteCadence = AuditDigest.Cadence.of(requireNonNull(site, "site is null"));
        this.standingAnchors = requireNonNull(standingAnchors, "standingAnchors is null");
    }

    public AuditVerifier(AuditSource source, PublicKey publicKey, AuditConfig site) {
        this(source, publicKey, site, List::of);
    }

    /**
     * What to check.
     *
     * @param from records made from this time (whole chain when both are empty)
     * @param to records made before this time
     * @param anchors anchors kept elsewhere that the chain must still extend (whole chain only)
     * @param strict whether a tail that breaks the cadence fails the check (else it is a warning)
     */
    public record Options(Optional<Instant> from, Optional<Instant> to, List<AuditAnchor> anchors, boolean strict) {
        public Options {
            requireNonNull(from, "from is null");
            requireNonNull(to, "to is null");
            anchors = List.copyOf(anchors);
        }

        public static Options whole() {
            return new Options(Optional.empty(), Optional.empty(), List.of(), true);
        }

        boolean isWhole() {
            return from.isEmpty() && to.isEmpty();
        }
    }

    /** Checks the records made in {@code [from, to)} (the whole chain when both are empty), strictly. */
    public AuditVerification verify(Optional<Instant> from, Optional<Instant> to) {
        return verify(new Options(from, to, List.of(), true));
    }

    public AuditVerification verify(Options options) {
        requireNonNull(options, "options is null");
        Snapshot snapshot = snapshot();
        Optional<AuditDigest> lastDigest = snapshot.lastDigest();
        long head = snapshot.head();
        long digestLimit = lastDigest.map(AuditDigest::lastSeq).orElse(0L);
        if (options.isWhole()) {
            List<AuditAnchor> anchors = new ArrayList<>(standingAnchors.get());
            anchors.addAll(options.anchors());
            Walk walk = new Walk(1, head, digestLimit, null, AuditHashing.GENESIS, anchors, true);
            return walk.records().finish(head, options.strict(), anchors);
        }
        Optional<long[]> range = source.seqRange(options.from(), options.to());
        if (range.isEmpty()) {
            return new AuditVerification(true, 0, 0, 0, 0, 0, lastDigest.map(AuditDigest::createdAt),
                    Optional.empty(), Optional.empty(), 0, Optional.empty(), Optional.empty());
        }
        long lo = options.from().isEmpty() ? 1 : range.get()[0];
        long hi = range.get()[1];
        String prevHash = AuditHashing.GENESIS;
        if (lo > 1) {
            List<AuditRecord> before = source.records(lo - 1, lo - 1, 1);
            if (before.isEmpty()) {
                return failed(0, 0, lo, hi, lastDigest, new Problem(Kind.DELETED, lo - 1,
                        "record " + (lo - 1) + " is missing (deleted)"));
            }
            prevHash = before.getFirst().hash();
        }
        // The digest before the one that covers lo, so that digest's link is checked too.
        AuditDigest prevDigest = null;
        List<AuditDigest> covering = source.digests(lo, digestLimit, 1, false);
        if (!covering.isEmpty() && covering.getFirst().firstSeq() > 1) {
            long before = covering.getFirst().firstSeq() - 1;
            prevDigest = source.digests(before, before, 1, false).stream().findFirst().orElse(null);
        }
        Walk walk = new Walk(lo, hi, digestLimit, prevDigest, prevHash, List.of(), false);
        return walk.records().finish(hi, options.strict(), List.of());
    }

    /**
     * What a start checks before anything is appended: the whole digest chain (signatures and links, not the
     * records each covers), the record the last digest ends at, the records since, and the anchors. Always strict.
     */
    public AuditVerification verifyAtStart(List<AuditAnchor> extraAnchors) {
        List<AuditAnchor> anchors = new ArrayList<>(standingAnchors.get());
        anchors.addAll(extraAnchors);
        Snapshot snapshot = snapshot();
        Optional<AuditDigest> lastDigest = snapshot.lastDigest();
        long head = snapshot.head();
        long digestLimit = lastDigest.map(AuditDigest::lastSeq).orElse(0L);
        Walk walk = new Walk(1, head, digestLimit, null, AuditHashing.GENESIS, anchors, true);
        Optional<Problem> chain = walk.digestsOnly();
        if (chain.isPresent()) {
            return failed(walk.checked, walk.digestsChecked, 1, head, lastDigest, chain.get());
        }
        long from = 1;
        if (walk.lastConsumed != null) {
            AuditDigest last = walk.lastConsumed;
            List<AuditRecord> end = source.records(last.lastSeq(), last.lastSeq(), 1);
            if (end.isEmpty()) {
                return failed(0, walk.digestsChecked, 1, head, lastDigest, new Problem(Kind.DELETED,
                        Math.min(head + 1, last.lastSeq()), "records " + (head + 1) + " to " + last.lastSeq()
                        + " are missing (deleted); the signed digest over records " + last.firstSeq() + " to "
                        + last.lastSeq() + " covers them"));
            }
            AuditRecord r = end.getFirst();
            if (!r.hash().equals(last.headHash()) || !AuditHashing.hash(r.seq(), r.event(), r.prevHash()).equals(r.hash())) {
                return failed(0, walk.digestsChecked, 1, head, lastDigest, new Problem(Kind.EDITED, r.seq(),
                        "record " + r.seq() + " was changed: its hash is " + abbreviate(r.hash()) + ", the digest over "
                                + "records " + last.firstSeq() + " to " + last.lastSeq() + " signed "
                                + abbreviate(last.headHash())));
            }
            from = last.lastSeq() + 1;
            walk.prevHash = last.headHash();
            walk.prevFromSignature = true;
        }
        walk.expected = from;
        return walk.records().finish(head, true, anchors);
    }

    /** The newest digest and the head as one committed state of the chain saw them. */
    private record Snapshot(Optional<AuditDigest> lastDigest, long head) {}

    /**
     * Reads the newest digest, the head, and the newest digest again, until both digest reads agree: then the head
     * was read in a state whose newest digest was that one (digests only grow), and the records after it are that
     * state's unsigned tail, which a writer keeps within the cadence. A writer appending meanwhile (the factory runs)
     * can otherwise make a tail look longer than any committed state had it.
     */
    private Snapshot snapshot() {
        Optional<AuditDigest> before = source.lastDigest();
        for (int attempt = 0; ; attempt++) {
            long head = source.headSeq();
            Optional<AuditDigest> after = source.lastDigest();
            if (after.map(AuditDigest::lastSeq).equals(before.map(AuditDigest::lastSeq)) || attempt == 20) {
                return new Snapshot(before, head);
            }
            before = after;
        }
    }

    private AuditVerification failed(long records, long digests, long lo, long hi, Optional<AuditDigest> lastDigest,
                                     Problem problem) {
        return new AuditVerification(false, records, digests, lo, hi, 0, lastDigest.map(AuditDigest::createdAt),
                Optional.of(problem), Optional.empty(), 0, Optional.empty(), Optional.empty());
    }

    private static String abbreviate(String hash) {
        return hash.length() > AuditDigest.PREFIX ? hash.substring(0, AuditDigest.PREFIX) + "…" : hash;
    }

    /** One pass over records and the digests that cover them, in sequence order. */
    private final class Walk {
        private final long lo;
        private final long hi;
        private final long digestLimit;
        private final boolean whole;
        private final Map<Long, AuditDigest> anchored = new HashMap<>();
        private final Map<Long, AuditDigest> coveringAnchor = new HashMap<>();
        private final List<Long> anchorSeqs;
        private final LinkedHashMap<String, Long> recent = new LinkedHashMap<>(256, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > RECENT_HASHES;
            }
        };
        private final List<Instant> tailTimes = new ArrayList<>();
        private List<AuditDigest> page = List.of();
        private int pageAt;
        private long nextDigestFrom;
        private boolean digestsDone;
        private @Nullable AuditDigest current;
        private @Nullable AuditDigest lastConsumed;
        private @Nullable AuditDigest firstConsumed;
        private long expected;
        private String prevHash;
        /** Whether the previous record's hash was confirmed by a signed digest (so a broken link is the next one's). */
        private boolean prevFromSignature;
        private long checked;
        private long firstChecked;
        private long digestsChecked;
        private long tailFrom = -1;
        private Optional<Problem> problem = Optional.empty();

        Walk(long lo, long hi, long digestLimit, @Nullable AuditDigest prevDigest, String prevHash,
                List<AuditAnchor> anchors,
             boolean whole) {
            this.lo = lo;
            this.hi = hi;
            this.digestLimit = digestLimit;
            this.lastConsumed = prevDigest;
            this.prevHash = prevHash;
            this.expected = lo;
            this.whole = whole;
            this.nextDigestFrom = lo;
            this.anchorSeqs = anchors.stream().map(AuditAnchor::seq).toList();
        }

        /** Walks the records from {@link #expected} to {@link #hi} and the digests over them. */
        Walk records() {
            problem = walkRecords();
            if (problem.isEmpty()) {
                problem = afterRecords();
            }
            return this;
        }

        /** Walks the digests alone (a start's check): their signatures, links and ranges. */
        Optional<Problem> digestsOnly() {
            long seq = 1;
            while (true) {
                AuditDigest next = nextDigest(false);
                if (next == null) {
                    return Optional.empty();
                }
                Optional<Problem> p = checkDigest(next, seq);
                if (p.isPresent()) {
                    return p;
                }
                seq = next.lastSeq() + 1;
            }
        }

        private Optional<Problem> walkRecords() {
            while (expected <= hi) {
                List<AuditRecord> records = source.records(expected, hi, RECORD_PAGE);
                if (records.isEmpty()) {
                    return Optional.of(new Problem(Kind.DELETED, expected, expected == hi
                            ? "record " + expected + " is missing (deleted)"
                            : "records " + expected + " to " + hi + " are missing (deleted)"));
                }
                for (AuditRecord r : records) {
                    Optional<Problem> p = check(r);
                    if (p.isPresent()) {
                        return p;
                    }
                    if (checked++ == 0) {
                        firstChecked = r.seq();
                    }
                    recent.put(r.hash(), r.seq());
                    prevHash = r.hash();
                    expected = r.seq() + 1;
                }
            }
            return Optional.empty();
        }

        private Optional<Problem> check(AuditRecord r) {
            if (r.seq() != expected) {
                return Optional.of(new Problem(Kind.DELETED, expected, expected == r.seq() - 1
                        ? "record " + expected + " is missing (deleted)"
                        : "records " + expected + " to " + (r.seq() - 1) + " are missing (deleted)"));
            }
            Optional<Problem> entered = enter(r.seq());
            if (entered.isPresent()) {
                return entered;
            }
            boolean selfConsistent = AuditHashing.hash(r.seq(), r.event(), r.prevHash()).equals(r.hash());
            boolean linked = r.prevHash().equals(prevHash);
            Optional<String> signed = current == null ? Optional.empty() : current.signedPrefix(r.seq());
            boolean matchesSigned = signed.map(s -> s.equals(AuditHashing.prefix(r.hash()))).orElse(true);
            boolean previouslySigned = prevFromSignature;
            prevFromSignature = signed.isPresent() && matchesSigned;
            if (!selfConsistent) {
                return Optional.of(linked
                        ? new Problem(Kind.EDITED, r.seq(), "record " + r.seq() + " was edited: its fields give hash "
                                + abbreviate(AuditHashing.hash(r.seq(), r.event(), r.prevHash())) + ", not its stored "
                                + abbreviate(r.hash()))
                        : new Problem(Kind.REORDERED, r.seq(), "record " + r.seq() + " is out of place in the chain "
                                + "(records were reordered): it links to " + abbreviate(r.prevHash()) + ", record "
                                + (r.seq() - 1) + "'s hash is " + abbreviate(prevHash)));
            }
            if (!matchesSigned) {
                AuditDigest over = requireNonNull(current, "a signed prefix comes from the current digest");
                return Optional.of(new Problem(Kind.EDITED, r.seq(), "record " + r.seq() + " was changed and the "
                        + "hashes recomputed: its hash begins " + AuditHashing.prefix(r.hash()) + ", the digest over "
                        + "records " + over.firstSeq() + " to " + over.lastSeq() + " signed " + signed.get()));
            }
            if (!linked) {
                Long linkedTo = recent.get(r.prevHash());
                if (linkedTo != null && linkedTo != r.seq() - 1) {
                    return Optional.of(new Problem(Kind.REORDERED, r.seq(), "record " + r.seq() + " follows record "
                            + linkedTo + " in the chain, not record " + (r.seq() - 1) + " (records were reordered)"));
                }
                if (previouslySigned || r.seq() == lo && lo > 1 && !whole || r.seq() == 1) {
                    return Optional.of(new Problem(Kind.EDITED, r.seq(), "record " + r.seq() + " was changed and "
                            + "its hash recomputed: it links to " + abbreviate(r.prevHash()) + ", record "
                            + (r.seq() - 1) + "'s hash is " + abbreviate(prevHash)));
                }
                return Optional.of(new Problem(Kind.EDITED, r.seq() - 1, "record " + (r.seq() - 1) + " was edited "
                        + "and its hash recomputed: record " + r.seq() + " links to " + abbreviate(r.prevHash())
                        + ", not to its hash " + abbreviate(prevHash)));
            }
            if (current != null && r.seq() == current.lastSeq() && !r.hash().equals(current.headHash())) {
                return Optional.of(new Problem(Kind.EDITED, r.seq(), "record " + r.seq() + " does not match the "
                        + "signed digest over records " + current.firstSeq() + " to " + current.lastSeq()
                        + " (its hash is " + abbreviate(r.hash()) + ", the digest signed " + abbreviate(current.headHash())
                        + "): the chain was rewritten"));
            }
            if (current == null && tailTimes.size() < TAIL_TIMES) {
                tailTimes.add(r.event().at());
            }
            return Optional.empty();
        }

        /** Makes {@link #current} the digest that covers {@code seq}, checking each digest as it is reached. */
        private Optional<Problem> enter(long seq) {
            if (current != null && seq <= current.lastSeq()) {
                return Optional.empty();
            }
            if (current != null || tailFrom < 0 && !digestsDone) {
                AuditDigest next = nextDigest(true);
                if (next == null) {
                    current = null;
                    tailFrom = seq;
                    return Optional.empty();
                }
                Optional<Problem> p = checkDigest(next, seq);
                if (p.isPresent()) {
                    return p;
                }
                current = next;
                return Optional.empty();
            }
            return Optional.empty();
        }

        /** Checks the next digest, reached at record {@code seq}, against the one before it; then takes it. */
        private Optional<Problem> checkDigest(AuditDigest d, long seq) {
            long expectedFirst = lastConsumed == null ? 1 : lastConsumed.lastSeq() + 1;
            String range = "the digest over records " + d.firstSeq() + " to " + d.lastSeq();
            if (d.firstSeq() > expectedFirst) {
                return Optional.of(new Problem(Kind.DIGEST_MISSING, expectedFirst, "no digest covers records "
                        + expectedFirst + " to " + (d.firstSeq() - 1) + " (a digest was deleted); " + range
                        + " follows " + (lastConsumed == null ? "nothing" : "the one up to record "
                        + lastConsumed.lastSeq())));
            }
            if (!AuditKey.verify(publicKey, d) || !d.keyId().equals(keyId)) {
                return Optional.of(new Problem(Kind.FORGED_DIGEST, Math.max(seq, d.firstSeq()), range
                        + " does not verify with the audit public key (key id " + keyId + "; it names " + d.keyId()
                        + "): forged, altered, or signed with another key"));
            }
            if (d.firstSeq() < expectedFirst || d.count() != d.lastSeq() - d.firstSeq() + 1) {
                return Optional.of(new Problem(Kind.DIGEST_MISMATCH, Math.max(seq, expectedFirst), range
                        + " overlaps the digest before it or miscounts its records"));
            }
            if (d.version() == 1 && lastConsumed != null && lastConsumed.version() != 1) {
                return Optional.of(new Problem(Kind.DIGEST_MISMATCH, Math.max(seq, d.firstSeq()), range
                        + " is of the old kind, without a link to the digest before, yet follows digests that link"));
            }
            if (d.version() != 1) {
                AuditDigest previous = lastConsumed;
                String before = previous == null ? "" : previous.hash();
                if (!d.prevDigest().equals(before)) {
                    return Optional.of(new Problem(Kind.DIGEST_MISMATCH, Math.max(seq, d.firstSeq()), range
                            + " signs " + (d.prevDigest().isEmpty() ? "no digest" : abbreviate(d.prevDigest()))
                            + " as the digest before it, but the digest before it is "
                            + (previous == null || before.isEmpty() ? "none" : abbreviate(before) + " (over records "
                            + previous.firstSeq() + " to " + previous.lastSeq() + ")")
                            + ": digests were deleted or replaced"));
                }
                if (d.recordHashes().isPresent() && (d.recordHashes().get().length() != d.count() * AuditDigest.PREFIX
                        || !AuditHashing.recordsHash(d.recordHashes().get()).equals(d.recordsHash()))) {
                    return Optional.of(new Problem(Kind.DIGEST_MISMATCH, Math.max(seq, d.firstSeq()), range
                            + " lists record hashes that are not the ones it signed (the list was altered)"));
                }
            }
            if (firstConsumed == null) {
                firstConsumed = d;
            }
            lastConsumed = d;
            digestsChecked++;
            if (anchorSeqs.contains(d.lastSeq())) {
                anchored.put(d.lastSeq(), d);
            }
            for (long a : anchorSeqs) {
                if (a >= d.firstSeq() && a <= d.lastSeq()) {
                    coveringAnchor.put(a, d);
                }
            }
            return Optional.empty();
        }

        private @Nullable AuditDigest nextDigest(boolean withRecordHashes) {
            if (digestsDone) {
                return null;
            }
            if (pageAt >= page.size()) {
                page = source.digests(nextDigestFrom, digestLimit, DIGEST_PAGE, withRecordHashes);
                pageAt = 0;
                if (page.isEmpty()) {
                    digestsDone = true;
                    return null;
                }
                nextDigestFrom = page.getLast().lastSeq() + 1;
            }
            return page.get(pageAt++);
        }

        /** Digests that reach past the last record: the records they cover were deleted. */
        private Optional<Problem> afterRecords() {
            if (!whole) {
                return Optional.empty();
            }
            AuditDigest beyond = current != null && current.lastSeq() > hi ? current : null;
            if (beyond == null && (current != null || tailFrom < 0)) {
                AuditDigest next = nextDigest(false);
                if (next != null) {
                    Optional<Problem> p = checkDigest(next, hi + 1);
                    if (p.isPresent()) {
                        return p;
                    }
                    beyond = next;
                }
            }
            if (beyond != null) {
                return Optional.of(new Problem(Kind.DELETED, hi + 1, "records " + (hi + 1) + " to "
                        + beyond.lastSeq() + " are missing (deleted); the signed digest over records "
                        + beyond.firstSeq() + " to " + beyond.lastSeq() + " covers them"));
            }
            return Optional.empty();
        }

        /** The unsigned tail and the anchors, then the result. */
        AuditVerification finish(long head, boolean strict, List<AuditAnchor> anchors) {
            long covered = lastConsumed == null ? lo - 1 : Math.max(lastConsumed.lastSeq(), lo - 1);
            long unsigned = Math.max(0, head - covered);
            AuditDigest.Cadence cadence = lastConsumed == null ? siteCadence
                    : lastConsumed.cadence().orElse(siteCadence);
            Optional<Problem> warning = Optional.empty();
            List<Problem> found = new ArrayList<>();
            problem.ifPresent(found::add);
            if (problem.isEmpty() && whole && unsigned > 0) {
                Optional<Problem> tail = tail(covered + 1, head, cadence);
                if (tail.isPresent()) {
                    boolean always = lastConsumed == null || lastConsumed.closing();
                    if (strict || always) {
                        found.add(tail.get());
                    } else {
                        warning = tail;
                    }
                }
            }
            int held = 0;
            if (whole) {
                for (AuditAnchor a : anchors) {
                    Optional<Problem> p = anchor(a, head, covered);
                    if (p.isPresent()) {
                        found.add(p.get());
                    } else if (problem.isEmpty() || problem.get().seq() > a.seq()) {
                        held++;
                    }
                }
            }
            Optional<Problem> first = found.stream().min(Comparator.comparingLong(Problem::seq));
            Optional<AuditDigest> newest = Optional.ofNullable(lastConsumed);
            return new AuditVerification(first.isEmpty(), checked, digestsChecked, firstChecked,
                    checked == 0 ? 0 : firstChecked + checked - 1, first.isPresent() ? 0 : unsigned,
                    newest.map(AuditDigest::createdAt), first, Optional.of(cadence), first.isPresent() ? 0 : held,
                    warning, first.isPresent() ? Optional.empty() : newest.filter(d -> d.version() != 1)
                            .map(AuditAnchor::of));
        }

        /** The records after the last digest, held to the cadence (see the class comment). */
        private Optional<Problem> tail(long from, long head, AuditDigest.Cadence cadence) {
            if (lastConsumed == null) {
                return Optional.of(new Problem(Kind.DIGEST_MISSING, from, "no signed digest covers records " + from
                        + " to " + head + ": the digests were deleted (every writer signs its first record at once)"));
            }
            String after = "the digest over records " + lastConsumed.firstSeq() + " to " + lastConsumed.lastSeq();
            if (lastConsumed.closing()) {
                return Optional.of(new Problem(Kind.UNSIGNED, from, "records " + from + " to " + head + " follow "
                        + after + ", which the factory signed when it stopped cleanly (" + lastConsumed.createdAt()
                        + "), and no digest covers them: they were added while it was stopped"));
            }
            long unsigned = head - from + 1;
            if (unsigned >= cadence.every()) {
                return Optional.of(new Problem(Kind.UNSIGNED, from, unsigned + " records (" + from + " to " + head
                        + ") follow " + after + " unsigned, but the writer signs every " + cadence.every()
                        + " records in the same commit: their digests were deleted"));
            }
            if (tailTimes.size() != unsigned) {
                return Optional.empty(); // cannot happen: a tail this long broke the count rule above
            }
            Instant latest = lastConsumed.createdAt();
            for (Instant t : tailTimes) {
                latest = t.isAfter(latest) ? t : latest;
            }
            Instant due = latest.minus(cadence.interval()).minus(CLOCK_TOLERANCE);
            for (int i = 0; i < tailTimes.size(); i++) {
                if (!tailTimes.get(i).isAfter(due)) {
                    long seq = from + i;
                    return Optional.of(new Problem(Kind.UNSIGNED, seq, "record " + seq + " was made at "
                            + tailTimes.get(i) + " and is unsigned, but by " + latest + " (the newest record or "
                            + "digest) the writer signs what is " + cadence.interval().toString().substring(2)
                            .toLowerCase(java.util.Locale.ROOT) + " old: its digest was deleted"));
                }
            }
            return Optional.empty();
        }

        private Optional<Problem> anchor(AuditAnchor a, long head, long covered) {
            if (!a.keyId().equals(keyId)) {
                long first = firstConsumed == null ? 1 : firstConsumed.firstSeq();
                return Optional.of(new Problem(Kind.FORGED_DIGEST, first, "anchor " + a.seq() + " was signed by audit "
                        + "key " + a.keyId() + ", but the chain's digests verify with key " + keyId + ": the chain "
                        + "was signed again with another key, or the public key given is not the site's"));
            }
            if (head < a.seq()) {
                return Optional.of(new Problem(Kind.DELETED, head + 1, "the chain ends at record " + head
                        + ", but an anchor holds a signed digest up to record " + a.seq() + ": records " + (head + 1)
                        + " to " + a.seq() + " were deleted (the chain was cut)"));
            }
            if (problem.isPresent() && problem.get().seq() <= a.seq()) {
                return Optional.empty(); // the walk stopped first, at an earlier break
            }
            AuditDigest d = anchored.get(a.seq());
            if (d == null) {
                AuditDigest over = coveringAnchor.get(a.seq());
                long seq = over != null ? over.firstSeq() : covered + 1;
                return Optional.of(new Problem(Kind.DIGEST_MISMATCH, seq, "no digest ends at record " + a.seq()
                        + " as the anchor " + abbreviate(a.digestHash()) + " says"
                        + (over != null ? "; the digest over records " + over.firstSeq() + " to " + over.lastSeq()
                        + " covers it" : "; no digest covers it") + ": the digests were rewritten or deleted"));
            }
            if (!d.hash().equals(a.digestHash()) || !d.signature().equals(a.signature())) {
                return Optional.of(new Problem(Kind.DIGEST_MISMATCH, d.firstSeq(), "the digest over records "
                        + d.firstSeq() + " to " + d.lastSeq() + " is " + abbreviate(d.hash()) + ", but the anchor "
                        + "holds " + abbreviate(a.digestHash()) + ": the chain was rewritten and signed again with "
                        + "the site's key"));
            }
            return Optional.empty();
        }
    }
}
