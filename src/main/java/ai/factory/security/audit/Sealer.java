package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Writes the digests a chain transaction owes, inside that transaction, so that no committed state of the chain
 * breaks the cadence a verifier holds it to ({@link AuditVerifier}):
 *
 * <ul>
 *   <li>fewer than {@code every} records are ever unsigned: a digest is written over each full run of {@code every};
 *   <li>no unsigned record was made {@code interval} or more before the time of the transaction that left it
 *       unsigned: once the oldest is that old, the rest is signed too.
 * </ul>
 *
 * Since records and the digests they make due commit together, a crash cannot leave more unsigned than that either.
 */
final class Sealer {
    private final AuditKey key;
    private final AuditDigest.Cadence cadence;
    private final Clock clock;

    Sealer(AuditKey key, AuditDigest.Cadence cadence, Clock clock) {
        this.key = requireNonNull(key, "key is null");
        this.cadence = requireNonNull(cadence, "cadence is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** What a transaction signed, and when the oldest record it left unsigned was made (empty: none left). */
    record Sealed(List<AuditDigest> digests, Optional<Instant> oldestUnsigned) {
        Sealed {
            digests = List.copyOf(digests);
        }

        Optional<AuditDigest> last() {
            return digests.isEmpty() ? Optional.empty() : Optional.of(digests.getLast());
        }
    }

    /**
     * Signs what is due, or every unsigned record when {@code all}; the digest that reaches the head is marked
     * {@code closing} when asked (a clean shutdown on a database no other writer can open).
     */
    Sealed seal(AuditStore.Chain chain, boolean all, boolean closing) {
        long head = chain.head().map(AuditRecord::seq).orElse(0L);
        Optional<AuditDigest> last = chain.lastDigest();
        long from = last.map(d -> d.lastSeq() + 1).orElse(1L);
        String prev = last.map(AuditDigest::hash).orElse("");
        Instant now = clock.instant();
        List<AuditDigest> written = new ArrayList<>();
        while (from <= head) {
            long unsigned = head - from + 1;
            long start = from;
            boolean due = all || unsigned >= cadence.every() || chain.oldestAt(start)
                    .map(t -> !t.isAfter(now.minus(cadence.interval()))).orElse(false);
            if (!due) {
                break;
            }
            long to = from + Math.min(unsigned, cadence.every()) - 1;
            AuditDigest d = sign(chain, from, to, prev, closing && to == head, now);
            chain.insertDigest(d);
            written.add(d);
            prev = d.hash();
            from = to + 1;
        }
        return new Sealed(written, from <= head ? chain.oldestAt(from) : Optional.empty());
    }

    private AuditDigest sign(AuditStore.Chain chain, long from, long to, String prev, boolean closing, Instant now) {
        List<AuditStore.Link> links = chain.links(from, to);
        if (links.size() != to - from + 1 || links.getFirst().seq() != from || links.getLast().seq() != to) {
            throw new IllegalStateException("audit records " + from + " to " + to + " are not all there; run "
                    + "'factory audit verify'");
        }
        StringBuilder hashes = new StringBuilder(links.size() * AuditDigest.PREFIX);
        links.forEach(l -> hashes.append(AuditHashing.prefix(l.hash())));
        return key.sign(AuditDigest.unsigned(from, to, links.getFirst().at(), links.getLast().at(),
                links.getLast().hash(), now, key.keyId(), prev, cadence, closing, hashes.toString()));
    }
}
