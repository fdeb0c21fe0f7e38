package ai.factory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock a test moves: a fixed instant, or the system clock, plus an offset the test sets or advances. Safe to read
 * from the factory's threads while the test moves it.
 */
public final class MovableClock extends Clock {
    /** Where it started; null for the system clock. */
    private final Instant fixed;
    private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

    private MovableClock(Instant fixed) {
        this.fixed = fixed;
    }

    /** Stands at {@code start} until moved. */
    public static MovableClock at(Instant start) {
        return new MovableClock(start);
    }

    /** The system clock, moved by the offset. */
    public static MovableClock system() {
        return new MovableClock(null);
    }

    /** Moves the clock on by {@code d}. */
    public void advance(Duration d) {
        offset.accumulateAndGet(d, Duration::plus);
    }

    /** Sets how far the clock is from where it started (from the system clock's time, for {@link #system()}). */
    public void offset(Duration d) {
        offset.set(d);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return (fixed == null ? Instant.now() : fixed).plus(offset.get());
    }
}
