package ai.factory.security.audit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;

/**
 * The canonical encodings the chain and its digests are computed over. Every field is written in a fixed order
 * as a length-prefixed value (4-byte big-endian length, then UTF-8 bytes; numbers as 8-byte big-endian, times as
 * microseconds since the epoch), so no two different records share an encoding and the same record always
 * encodes the same way, whatever database it was read back from.
 *
 * <pre>
 * record hash = hex(SHA-256("factory-audit-record-v1" || seq || at || principalId || principalName || project
 *                            || action || resource || decision || outcome || status || client || requestId
 *                            || bytesIn || bytesOut || promptTokens || completionTokens || detail || prevHash))
 * </pre>
 *
 * The first record's previous hash is {@link #GENESIS} (64 zeros).
 */
public final class AuditHashing {
    public static final String GENESIS = "0".repeat(64);

    private AuditHashing() {}

    public static String hash(long seq, AuditEvent e, String prevHash) {
        Encoder enc = new Encoder("factory-audit-record-v1")
                .number(seq).time(e.at()).text(e.principalId()).text(e.principalName()).text(e.project())
                .text(e.action()).text(e.resource()).text(e.decision()).text(e.outcome()).number(e.status())
                .text(e.client()).text(e.requestId()).number(e.bytesIn()).number(e.bytesOut())
                .number(e.promptTokens()).number(e.completionTokens()).text(e.detail()).text(prevHash);
        return HexFormat.of().formatHex(sha256(enc.bytes()));
    }

    /**
     * What a digest's signature is made over, and what its {@linkplain AuditDigest#hash hash} is of:
     *
     * <pre>
     * v1: "factory-audit-digest-v1" || firstSeq || lastSeq || count || firstAt || lastAt || headHash || createdAt
     *     || keyId
     * v2: "factory-audit-digest-v2" || firstSeq || lastSeq || count || firstAt || lastAt || headHash || createdAt
     *     || keyId || prevDigest || every || intervalMillis || closing (1 or 0) || recordsHash
     * </pre>
     */
    public static byte[] digestPayload(AuditDigest d) {
        if (d.version() == 1) {
            return new Encoder("factory-audit-digest-v1")
                    .number(d.firstSeq()).number(d.lastSeq()).number(d.count()).time(d.firstAt()).time(d.lastAt())
                    .text(d.headHash()).time(d.createdAt()).text(d.keyId()).bytes();
        }
        AuditDigest.Cadence cadence = d.cadence().orElseThrow(() ->
                new IllegalArgumentException("a version 2 digest signs its cadence"));
        return new Encoder("factory-audit-digest-v2")
                .number(d.firstSeq()).number(d.lastSeq()).number(d.count()).time(d.firstAt()).time(d.lastAt())
                .text(d.headHash()).time(d.createdAt()).text(d.keyId()).text(d.prevDigest())
                .number(cadence.every()).number(cadence.interval().toMillis()).number(d.closing() ? 1 : 0)
                .text(d.recordsHash()).bytes();
    }

    /** The hex SHA-256 of a digest's record list (the concatenated prefixes of its records' hashes). */
    public static String recordsHash(String recordHashes) {
        return HexFormat.of().formatHex(sha256(recordHashes.getBytes(StandardCharsets.US_ASCII)));
    }

    /** What a version 2 digest lists of a record's hash. */
    public static String prefix(String recordHash) {
        return recordHash.length() <= AuditDigest.PREFIX ? recordHash : recordHash.substring(0, AuditDigest.PREFIX);
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static final class Encoder {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(512);

        Encoder(String domain) {
            text(domain);
        }

        Encoder text(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        Encoder number(long n) {
            out.writeBytes(ByteBuffer.allocate(8).putLong(n).array());
            return this;
        }

        Encoder time(Instant t) {
            return number(ChronoUnit.MICROS.between(Instant.EPOCH, t));
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
