package ai.factory.security.content;

import static java.util.Objects.requireNonNull;

import ai.factory.security.audit.AuditEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Keeps logged content no longer than {@code audit.contentRetention}: at start and then every tenth of the retention
 * (at least every second, at most every hour) it expires what is older, and records in the audit chain, per project,
 * how many calls' content it destroyed ({@code audit.expireContent}), so the trail shows that it went and when.
 */
public final class ContentRetention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ContentRetention.class);

    private final AuditContent content;
    private final Duration retention;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    private final ScheduledExecutorService timer;

    public ContentRetention(AuditContent content, Duration retention, Consumer<AuditEvent> audit, Clock clock) {
        this.content = requireNonNull(content, "content is null");
        this.retention = requireNonNull(retention, "retention is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("retention must be positive: " + retention);
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "audit-content-retention");
            t.setDaemon(true);
            return t;
        });
    }

    /** How often it looks for expired content. */
    public static Duration sweepEvery(Duration retention) {
        Duration tenth = retention.dividedBy(10);
        return tenth.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                : tenth.compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : tenth;
    }

    /** Starts sweeping: the first sweep now, then every {@link #sweepEvery}. */
    public ContentRetention start() {
        long every = sweepEvery(retention).toMillis();
        timer.scheduleWithFixedDelay(this::sweepQuietly, 0, every, TimeUnit.MILLISECONDS);
        LOG.info("logged content is kept for {}, looked over every {}", retention, Duration.ofMillis(every));
        return this;
    }

    /** Expires what is older than the retention now; returns how many calls' content went, by project. */
    public Map<String, Integer> sweep() {
        Map<String, Integer> expired = content.expire(clock.instant().minus(retention));
        expired.forEach((project, calls) -> {
            audit.accept(new AuditEvent(clock.instant(), "system", "factory", project, "audit.expireContent",
                    "project=" + project, AuditEvent.ALLOW, AuditEvent.SUCCESS, 0, "factory",
                    UUID.randomUUID().toString(), 0, 0, 0, 0,
                    calls + " call(s)' content older than " + retention + " destroyed (data keys and files)"));
            LOG.info("expired the logged content of {} call(s) of {}", calls, project);
        });
        return expired;
    }

    private void sweepQuietly() {
        try {
            sweep();
        } catch (RuntimeException e) {
            // The next sweep tries again; a failure must not end the schedule.
            LOG.warn("expiring logged content failed; trying again at the next sweep", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
