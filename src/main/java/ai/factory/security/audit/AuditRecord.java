package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

/**
 * One link of the audit chain: an event with its gap-free sequence number, the previous record's hash and its
 * own ({@link AuditHashing#hash}).
 */
public record AuditRecord(long seq, AuditEvent event, String prevHash, String hash) {
    public AuditRecord {
        requireNonNull(event, "event is null");
        requireNonNull(prevHash, "prevHash is null");
        requireNonNull(hash, "hash is null");
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1");
        }
    }
}
