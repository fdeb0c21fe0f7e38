package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Rows that every request reads (an API key's principal, a model's facts), kept in memory once read so that a call
 * does not go to the database for them. The class that writes those rows invalidates what it changed as it commits,
 * so this process never serves what it changed itself; where other nodes share the database (PostgreSQL) they may
 * change the rows too, and an entry is read again once it is {@code maxAge} old ({@link Database#readCacheMaxAge}).
 * Only rows that were found are kept: unknown keys (a stream of bad API keys, say) fill nothing.
 *
 * <p>An invalidation that comes while a read is in flight wins: every invalidation moves a generation on, and a read
 * that sees it moved does not keep what it read, which may be from before the change.
 */
public final class ReadCache<K, V> {
    /** Entries live until this process invalidates them: for a database no other process opens. */
    public static final Duration UNTIL_INVALIDATED = ChronoUnit.FOREVER.getDuration();
    /** How old an entry may grow where other nodes share the database: how long their changes take to reach this one. */
    public static final Duration SHARED_MAX_AGE = Duration.ofSeconds(5);

    private record Entry<V>(V value, Instant expires) {}

    private final Clock clock;
    private final Duration maxAge;
    private final Map<K, Entry<V>> entries = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();

    public ReadCache(Clock clock, Duration maxAge) {
        this.clock = requireNonNull(clock, "clock is null");
        this.maxAge = requireNonNull(maxAge, "maxAge is null");
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge must be positive, not " + maxAge);
        }
    }

    /** The value of {@code key}, from memory while fresh, else from {@code read} (kept when found). */
    public Optional<V> get(K key, Function<K, Optional<V>> read) {
        Instant now = clock.instant();
        Entry<V> cached = entries.get(key);
        if (cached != null && now.isBefore(cached.expires())) {
            return Optional.of(cached.value());
        }
        long seen = generation.get();
        Optional<V> found = read.apply(key);
        if (found.isPresent()) {
            Entry<V> fresh = new Entry<>(found.get(), maxAge.equals(UNTIL_INVALIDATED) ? Instant.MAX : now.plus(maxAge));
            entries.put(key, fresh);
            if (generation.get() != seen) {
                entries.remove(key, fresh);
            }
        } else if (cached != null) {
            entries.remove(key, cached);
        }
        return found;
    }

    /** Forgets {@code key}; call it once a change to its row is committed. */
    public void invalidate(K key) {
        generation.incrementAndGet();
        entries.remove(key);
    }

    /** Forgets everything; for changes that touch rows of many keys, or of keys the writer does not know. */
    public void invalidateAll() {
        generation.incrementAndGet();
        entries.clear();
    }
}
