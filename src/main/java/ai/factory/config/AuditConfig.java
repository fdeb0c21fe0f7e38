package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;

/**
 * The audit trail's signed digests: one covers the records not yet covered as soon as there are
 * {@code digestEvery} of them, or once the oldest of them was made {@code digestInterval} ago, whichever comes first.
 * {@code contentRetention}, when present, is how long the content that projects with content logging keep is kept.
 */
public record AuditConfig(int digestEvery, Duration digestInterval, Optional<Duration> contentRetention) {
    /** Each digest lists 16 hex digits of each record it covers, in a column of at most a million characters. */
    public static final int MAX_DIGEST_EVERY = 50_000;

    public AuditConfig {
        requireNonNull(digestInterval, "digestInterval is null");
        requireNonNull(contentRetention, "contentRetention is null");
        if (contentRetention.isPresent() && (contentRetention.get().isNegative() || contentRetention.get().isZero())) {
            throw new IllegalArgumentException("audit.contentRetention must be positive (or unset to keep content)");
        }
        if (digestEvery < 1 || digestEvery > MAX_DIGEST_EVERY) {
            throw new IllegalArgumentException("audit.digestEvery must be at least 1 and at most " + MAX_DIGEST_EVERY);
        }
        if (digestInterval.isNegative() || digestInterval.isZero()) {
            throw new IllegalArgumentException("audit.digestInterval must be positive");
        }
    }

    /** Digests as given; logged content kept until its project is deleted. */
    public AuditConfig(int digestEvery, Duration digestInterval) {
        this(digestEvery, digestInterval, Optional.empty());
    }

    public static AuditConfig defaults() {
        return new AuditConfig(1000, Duration.ofMinutes(5));
    }
}
