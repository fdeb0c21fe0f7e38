package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The audit trail's signed digests: one covers the records not yet covered as soon as there are
 * {@code digestEvery} of them, or {@code digestInterval} after the oldest of them, whichever comes first.
 */
public record AuditConfig(int digestEvery, Duration digestInterval) {
    public AuditConfig {
        requireNonNull(digestInterval, "digestInterval is null");
        if (digestEvery < 1) {
            throw new IllegalArgumentException("audit.digestEvery must be at least 1");
        }
        if (digestInterval.isNegative() || digestInterval.isZero()) {
            throw new IllegalArgumentException("audit.digestInterval must be positive");
        }
    }

    public static AuditConfig defaults() {
        return new AuditConfig(1000, Duration.ofMinutes(5));
    }
}
