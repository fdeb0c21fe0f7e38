package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A signed statement over a contiguous run of records: the chain head (hash of {@code lastSeq}), the range and
 * count, and the time range, signed with the site's Ed25519 audit key ({@link AuditHashing#digestPayload}).
 *
 * @param keyId the signing key's id ({@link AuditKey#keyId}), so a verifier can tell which key to use
 * @param signature base64 of the Ed25519 signature
 */
public record AuditDigest(long firstSeq, long lastSeq, long count, Instant firstAt, Instant lastAt, String headHash,
                          Instant createdAt, String keyId, String signature) {
    public AuditDigest {
        firstAt = requireNonNull(firstAt, "firstAt is null").truncatedTo(ChronoUnit.MICROS);
        lastAt = requireNonNull(lastAt, "lastAt is null").truncatedTo(ChronoUnit.MICROS);
        createdAt = requireNonNull(createdAt, "createdAt is null").truncatedTo(ChronoUnit.MICROS);
        requireNonNull(headHash, "headHash is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(signature, "signature is null");
    }

    AuditDigest withSignature(String signature) {
        return new AuditDigest(firstSeq, lastSeq, count, firstAt, lastAt, headHash, createdAt, keyId, signature);
    }
}
