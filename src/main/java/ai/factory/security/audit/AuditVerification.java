package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * The result of checking the audit chain and its digests.
 *
 * @param firstSeq the first record checked (0 when none)
 * @param lastSeq the last record checked (0 when none)
 * @param undigested records after the last digest (not yet signed; a deleted tail there goes unnoticed until the
 *     next digest, as with any signed log)
 * @param lastDigestAt when the newest digest checked was made
 * @param problem the first thing found wrong, if any
 */
public record AuditVerification(boolean ok, long records, long digests, long firstSeq, long lastSeq, long undigested,
                                Optional<Instant> lastDigestAt, Optional<Problem> problem) {
    public AuditVerification {
        requireNonNull(lastDigestAt, "lastDigestAt is null");
        requireNonNull(problem, "problem is null");
    }

    /** What kind of tampering a broken link looks like. */
    public enum Kind {
        /** A record's fields no longer give its stored hash, or its hash was recomputed and the next link broke. */
        EDITED,
        /** A sequence number is missing: the record was deleted (or a deleted tail, caught by a digest). */
        DELETED,
        /** A record links to a record that is not its predecessor: records were swapped or moved. */
        REORDERED,
        /** A digest's signature does not verify with the audit public key (forged or altered). */
        FORGED_DIGEST,
        /** A digest is missing from the sequence of digests, or does not match the records it covers. */
        DIGEST_MISMATCH
    }

    /**
     * @param seq the record (or, for digest problems, the digest's last record) where the chain first breaks
     */
    public record Problem(Kind kind, long seq, String message) {
        public Problem {
            requireNonNull(kind, "kind is null");
            requireNonNull(message, "message is null");
        }
    }
}
