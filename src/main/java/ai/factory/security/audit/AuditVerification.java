package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * The result of checking the audit chain and its digests.
 *
 * @param records records checked
 * @param digests digests checked
 * @param firstSeq the first record checked (0 when none)
 * @param lastSeq the last record checked (0 when none)
 * @param undigested records after the last digest, not yet signed (the unsigned tail)
 * @param lastDigestAt when the newest digest checked was made
 * @param problem the first broken record, if any: what was found and what was expected
 * @param cadence the cadence the unsigned tail was judged by: the one the last digest signs, else the site's
 * @param anchors how many anchors the chain was found to extend
 * @param warning the unsigned tail breaking the cadence, when that was asked to be reported rather than failed
 * @param latest the anchor of the newest digest checked, to keep elsewhere
 */
public record AuditVerification(boolean ok, long records, long digests, long firstSeq, long lastSeq, long undigested,
                                Optional<Instant> lastDigestAt, Optional<Problem> problem,
                                Optional<AuditDigest.Cadence> cadence, int anchors, Optional<Problem> warning,
                                Optional<AuditAnchor> latest) {
    public AuditVerification {
        requireNonNull(lastDigestAt, "lastDigestAt is null");
        requireNonNull(problem, "problem is null");
        requireNonNull(cadence, "cadence is null");
        requireNonNull(warning, "warning is null");
        requireNonNull(latest, "latest is null");
        if (ok == problem.isPresent()) {
            throw new IllegalArgumentException("a verification fails exactly when it names a problem");
        }
    }

    /** What kind of tampering a broken link looks like. */
    public enum Kind {
        /** A record's fields no longer give its stored hash, or its hash is not the one a digest signed for it. */
        EDITED,
        /** A sequence number is missing: records were deleted (in the middle, or a tail a digest or anchor covers). */
        DELETED,
        /** A record links to a record that is not its predecessor: records were swapped or moved. */
        REORDERED,
        /** A digest's signature does not verify with the audit public key (forged, altered or signed by another key). */
        FORGED_DIGEST,
        /** No digest covers records that one should: a digest was deleted. */
        DIGEST_MISSING,
        /** A digest does not follow the digest before it, or is not the one an anchor holds: digests were rewritten. */
        DIGEST_MISMATCH,
        /** Records are unsigned longer than the cadence allows, or follow a digest made at a clean shutdown. */
        UNSIGNED
    }

    /**
     * @param seq the first record whose integrity the check cannot establish
     */
    public record Problem(Kind kind, long seq, String message) {
        public Problem {
            requireNonNull(kind, "kind is null");
            requireNonNull(message, "message is null");
        }
    }
}
