package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.security.audit.AuditVerification.Kind;
import ai.factory.security.audit.AuditVerification.Problem;
import java.security.PublicKey;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Checks the audit trail straight from the database with only the audit public key: every record's hash, every
 * link, gap-free sequence numbers, and every digest's signature, range and head. Needs no running factory, so it
 * can run offline anywhere the database (or a copy) and {@code audit.pub} are.
 */
public final class AuditVerifier {
    private static final int PAGE = 1000;

    private final AuditStore store;
    private final PublicKey publicKey;

    public AuditVerifier(AuditStore store, PublicKey publicKey) {
        this.store = requireNonNull(store, "store is null");
        this.publicKey = requireNonNull(publicKey, "publicKey is null");
    }

    /** Checks the records made in {@code [from, to)} (all when both are empty) and the digests over them. */
    public AuditVerification verify(Optional<Instant> from, Optional<Instant> to) {
        Optional<long[]> range = from.isEmpty() && to.isEmpty()
                ? store.head().map(h -> new long[] {1, h.seq()})
                : store.seqRange(from, to);
        Optional<AuditDigest> lastDigest = store.lastDigest();
        if (range.isEmpty()) {
            if (from.isEmpty() && to.isEmpty() && lastDigest.isPresent()) {
                return broken(0, 0, 0, 0, lastDigest, new Problem(Kind.DELETED, 1, "every record is gone, but digest "
                        + "up to record " + lastDigest.get().lastSeq() + " says they existed"));
            }
            return new AuditVerification(true, 0, 0, 0, 0, 0, lastDigest.map(AuditDigest::createdAt), Optional.empty());
        }
        long lo = range.get()[0];
        long hi = range.get()[1];
        if (from.isEmpty()) {
            lo = 1;
        }
        long checked = 0;
        AuditRecord previous = lo > 1 ? store.record(lo - 1).orElse(null) : null;
        long expected = lo;
        long next = lo;
        while (next <= hi) {
            List<AuditRecord> page = store.records(next, hi, PAGE);
            if (page.isEmpty()) {
                return broken(checked, 0, lo, hi, lastDigest, new Problem(Kind.DELETED, expected,
                        "records " + expected + " to " + hi + " are missing (deleted)"));
            }
            for (AuditRecord r : page) {
                Optional<Problem> p = check(previous, expected, r);
                if (p.isPresent()) {
                    return broken(checked, 0, lo, hi, lastDigest, p.get());
                }
                checked++;
                previous = r;
                expected = r.seq() + 1;
            }
            next = expected;
        }
        return checkDigests(lo, hi, checked, lastDigest, from.isEmpty() && to.isEmpty());
    }

    private Optional<Problem> check(AuditRecord previous, long expected, AuditRecord r) {
        if (r.seq() != expected) {
            return Optional.of(new Problem(Kind.DELETED, expected, expected == r.seq() - 1
                    ? "record " + expected + " is missing (deleted)"
                    : "records " + expected + " to " + (r.seq() - 1) + " are missing (deleted)"));
        }
        boolean selfConsistent = AuditHashing.hash(r.seq(), r.event(), r.prevHash()).equals(r.hash());
        String expectedPrev = previous == null ? AuditHashing.GENESIS : previous.hash();
        if (!r.prevHash().equals(expectedPrev)) {
            Optional<Long> linked = store.seqOfHash(r.prevHash());
            if (linked.isPresent() && linked.get() != r.seq() - 1) {
                return Optional.of(new Problem(Kind.REORDERED, r.seq(), "record " + r.seq() + " follows record "
                        + linked.get() + " in the chain, not record " + (r.seq() - 1) + " (records were reordered)"));
            }
            if (previous != null && selfConsistent) {
                return Optional.of(new Problem(Kind.EDITED, previous.seq(), "record " + previous.seq()
                        + " was edited and its hash recomputed: record " + r.seq() + " links to a different hash"));
            }
        }
        if (!selfConsistent) {
            // Fields hashed under another sequence number: the record was moved, not edited.
            boolean moved = r.prevHash().equals(expectedPrev) ? false : true;
            return Optional.of(new Problem(moved ? Kind.REORDERED : Kind.EDITED, r.seq(), moved
                    ? "record " + r.seq() + " is out of place in the chain (records were reordered)"
                    : "record " + r.seq() + " was edited: its fields no longer give its stored hash"));
        }
        return Optional.empty();
    }

    private AuditVerification checkDigests(long lo, long hi, long checked, Optional<AuditDigest> lastDigest,
                                           boolean whole) {
        List<AuditDigest> digests = store.digests(lo, hi);
        long expectedFirst = digests.isEmpty() ? lo : digests.getFirst().firstSeq();
        if (whole) {
            expectedFirst = 1;
        }
        Instant lastAt = null;
        long covered = lo - 1;
        for (AuditDigest d : digests) {
            if (!AuditKey.verify(publicKey, d)) {
                return broken(checked, 0, lo, hi, lastDigest, new Problem(Kind.FORGED_DIGEST, d.lastSeq(),
                        "the digest over records " + d.firstSeq() + " to " + d.lastSeq() + " does not verify with the "
                                + "audit public key (key id " + AuditKey.keyId(publicKey) + "; it names "
                                + d.keyId() + "): forged or altered"));
            }
            if (d.firstSeq() != expectedFirst) {
                return broken(checked, 0, lo, hi, lastDigest, new Problem(Kind.DIGEST_MISMATCH, d.firstSeq(),
                        "no digest covers records " + expectedFirst + " to " + (d.firstSeq() - 1)
                                + " (a digest was deleted)"));
            }
            Optional<AuditRecord> head = store.record(d.lastSeq());
            if (head.isEmpty()) {
                return broken(checked, 0, lo, hi, lastDigest, new Problem(Kind.DELETED, hi + 1, "records "
                        + (hi + 1) + " to " + d.lastSeq() + " are missing (deleted); a signed digest covers them"));
            }
            if (!head.get().hash().equals(d.headHash()) || d.count() != d.lastSeq() - d.firstSeq() + 1) {
                return broken(checked, 0, lo, hi, lastDigest, new Problem(Kind.EDITED, d.lastSeq(),
                        "record " + d.lastSeq() + " does not match the signed digest over records " + d.firstSeq()
                                + " to " + d.lastSeq() + " (the chain was rewritten)"));
            }
            expectedFirst = d.lastSeq() + 1;
            covered = Math.max(covered, d.lastSeq());
            lastAt = d.createdAt();
        }
        if (whole && lastDigest.isPresent() && lastDigest.get().lastSeq() > hi) {
            return broken(checked, digests.size(), lo, hi, lastDigest, new Problem(Kind.DELETED, hi + 1, "records "
                    + (hi + 1) + " to " + lastDigest.get().lastSeq() + " are missing (deleted); a signed digest "
                    + "covers them"));
        }
        long undigested = Math.max(0, hi - Math.max(covered, lo - 1));
        return new AuditVerification(true, checked, digests.size(), lo, hi, undigested,
                Optional.ofNullable(lastAt), Optional.empty());
    }

    private static AuditVerification broken(long checked, long digests, long lo, long hi,
                                            Optional<AuditDigest> lastDigest, Problem problem) {
        return new AuditVerification(false, checked, digests, lo, hi, 0,
                lastDigest.map(AuditDigest::createdAt), Optional.of(problem));
    }
}
