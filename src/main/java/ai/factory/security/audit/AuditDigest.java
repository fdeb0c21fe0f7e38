package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.config.AuditConfig;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Optional;

/**
 * A signed statement over a contiguous run of records: the chain head (hash of {@code lastSeq}), the range and
 * count, and the time range, signed with the site's Ed25519 audit key ({@link AuditHashing#digestPayload}).
 *
 * <p>Version 2 digests also sign what makes dropping or rewriting them detectable:
 * <ul>
 *   <li>{@code prevDigest}, the {@link #hash} of the digest before (empty for the one that starts at record 1), so
 *       digests form a chain of their own;</li>
 *   <li>{@code cadence}, the {@code audit.digestEvery} and {@code audit.digestInterval} the writer ran with, by
 *       which a verifier judges the records after the last digest;</li>
 *   <li>{@code closing}: made when a writer stopped cleanly on a database no other writer can open (embedded H2),
 *       so no unsigned record may follow it;</li>
 *   <li>{@code recordsHash}, the SHA-256 of {@code recordHashes}: the first {@value #PREFIX} hex digits of each
 *       covered record's hash, in order, so a verifier names the first record whose hash is not the signed one
 *       even when every hash after it was recomputed.</li>
 * </ul>
 * Version 1 digests, written before, carry none of these: a verifier accepts them as the start of the digest chain.
 *
 * @param keyId the signing key's id ({@link AuditKey#keyId}), so a verifier can tell which key to use
 * @param recordHashes the list {@code recordsHash} is over; empty when not read back (or version 1)
 * @param signature base64 of the Ed25519 signature
 */
public record AuditDigest(int version, long firstSeq, long lastSeq, long count, Instant firstAt, Instant lastAt,
                          String headHash, Instant createdAt, String keyId, String prevDigest,
                          Optional<Cadence> cadence, boolean closing, String recordsHash,
                          Optional<String> recordHashes, String signature) {
    /** Hex digits of each record's hash that a version 2 digest lists. */
    public static final int PREFIX = 16;
    public static final int CURRENT_VERSION = 2;

    public AuditDigest {
        if (version != 1 && version != CURRENT_VERSION) {
            throw new IllegalArgumentException("unknown digest version " + version);
        }
        firstAt = requireNonNull(firstAt, "firstAt is null").truncatedTo(ChronoUnit.MICROS);
        lastAt = requireNonNull(lastAt, "lastAt is null").truncatedTo(ChronoUnit.MICROS);
        createdAt = requireNonNull(createdAt, "createdAt is null").truncatedTo(ChronoUnit.MICROS);
        requireNonNull(headHash, "headHash is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(prevDigest, "prevDigest is null");
        requireNonNull(cadence, "cadence is null");
        requireNonNull(recordsHash, "recordsHash is null");
        requireNonNull(recordHashes, "recordHashes is null");
        requireNonNull(signature, "signature is null");
    }

    /**
     * How often the writer signs: as soon as {@code every} records are unsigned, and before a record has waited
     * {@code interval} (by the records' own times).
     */
    public record Cadence(int every, Duration interval) {
        public Cadence {
            requireNonNull(interval, "interval is null");
            interval = interval.truncatedTo(ChronoUnit.MILLIS);
            if (every < 1 || interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("a cadence needs every >= 1 and a positive interval");
            }
        }

        public static Cadence of(AuditConfig config) {
            return new Cadence(config.digestEvery(), config.digestInterval());
        }

        @Override
        public String toString() {
            return "every " + every + " records or " + interval.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A version 2 digest, unsigned, over records whose hashes are {@code hashes} (in order). */
    static AuditDigest unsigned(long firstSeq, long lastSeq, Instant firstAt, Instant lastAt, String headHash,
                                Instant createdAt, String keyId, String prevDigest, Cadence cadence, boolean closing,
                                String recordHashes) {
        return new AuditDigest(CURRENT_VERSION, firstSeq, lastSeq, lastSeq - firstSeq + 1, firstAt, lastAt, headHash,
                createdAt, keyId, prevDigest, Optional.of(cadence), closing, AuditHashing.recordsHash(recordHashes),
                Optional.of(recordHashes), "");
    }

    /** The hex SHA-256 of what the signature is over: what the next digest and an anchor name this one by. */
    public String hash() {
        return HexFormat.of().formatHex(AuditHashing.sha256(AuditHashing.digestPayload(this)));
    }

    /** The prefix of record {@code seq}'s hash this digest signed, if it lists it. */
    public Optional<String> signedPrefix(long seq) {
        if (seq < firstSeq || seq > lastSeq || recordHashes.isEmpty()) {
            return Optional.empty();
        }
        int at = (int) (seq - firstSeq) * PREFIX;
        String list = recordHashes.get();
        return at + PREFIX <= list.length() ? Optional.of(list.substring(at, at + PREFIX)) : Optional.empty();
    }

    AuditDigest withSignature(String signature) {
        return new AuditDigest(version, firstSeq, lastSeq, count, firstAt, lastAt, headHash, createdAt, keyId,
                prevDigest, cadence, closing, recordsHash, recordHashes, signature);
    }

    /** The same digest without its record list (what a start-up check reads). */
    public AuditDigest withoutRecordHashes() {
        return new AuditDigest(version, firstSeq, lastSeq, count, firstAt, lastAt, headHash, createdAt, keyId,
                prevDigest, cadence, closing, recordsHash, Optional.empty(), signature);
    }
}
