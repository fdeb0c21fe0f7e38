package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.MovableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The cache of rows every request reads: kept until invalidated or too old, and never past an invalidation. */
class ReadCacheTest {
    private final MovableClock clock = MovableClock.at(Instant.parse("2026-12-01T12:00:00Z"));
    private final AtomicInteger reads = new AtomicInteger();

    private Optional<String> row(String key) {
        reads.incrementAndGet();
        return key.startsWith("known") ? Optional.of(key + "@" + reads.get()) : Optional.empty();
    }

    @Test
    void aFoundRowIsReadOnceUntilItIsInvalidated() {
        ReadCache<String, String> cache = new ReadCache<>(clock, ReadCache.UNTIL_INVALIDATED);
        assertThat(cache.get("known-1", this::row)).hasValue("known-1@1");
        clock.advance(Duration.ofDays(365));
        assertThat(cache.get("known-1", this::row)).hasValue("known-1@1");
        assertThat(reads).hasValue(1);

        cache.invalidate("known-1");
        assertThat(cache.get("known-1", this::row)).hasValue("known-1@2");
        cache.get("known-2", this::row);
        cache.invalidateAll();
        assertThat(cache.get("known-1", this::row)).hasValue("known-1@4");
        assertThat(cache.get("known-2", this::row)).hasValue("known-2@5");
    }

    @Test
    void anEntryOlderThanItsMaxAgeIsReadAgain() {
        ReadCache<String, String> cache = new ReadCache<>(clock, Duration.ofSeconds(5));
        cache.get("known", this::row);
        clock.advance(Duration.ofMillis(4999));
        assertThat(cache.get("known", this::row)).hasValue("known@1");
        clock.advance(Duration.ofMillis(1));
        assertThat(cache.get("known", this::row)).hasValue("known@2");
    }

    @Test
    void rowsThatAreNotFoundAreNotKept() {
        ReadCache<String, String> cache = new ReadCache<>(clock, ReadCache.UNTIL_INVALIDATED);
        assertThat(cache.get("unknown", this::row)).isEmpty();
        assertThat(cache.get("unknown", this::row)).isEmpty();
        assertThat(reads).hasValue(2);
    }

    @Test
    void aRowThatDisappearsOnceItIsTooOldIsForgotten() {
        ReadCache<String, String> cache = new ReadCache<>(clock, Duration.ofSeconds(5));
        cache.get("known", this::row);
        clock.advance(Duration.ofSeconds(5));
        assertThat(cache.get("known", key -> Optional.empty())).isEmpty();
        assertThat(cache.get("known", this::row)).hasValue("known@2");
    }

    @Test
    void anInvalidationDuringAReadWinsOverWhatTheReadFound() {
        ReadCache<String, String> cache = new ReadCache<>(clock, ReadCache.UNTIL_INVALIDATED);
        // The read saw the row before a writer changed it; the writer invalidated before the read finished.
        assertThat(cache.get("known", key -> {
            Optional<String> before = row(key);
            cache.invalidate("another key");
            return before;
        })).hasValue("known@1");
        assertThat(cache.get("known", this::row)).as("what the read found was not kept").hasValue("known@2");
        assertThat(cache.get("known", this::row)).hasValue("known@2");
    }

    @Test
    void aMaxAgeMustBePositive() {
        assertThatThrownBy(() -> new ReadCache<String, String>(clock, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void onlyAnEmbeddedH2FileIsCachedUntilInvalidated(TestDatabases.Kind kind, @TempDir Path tempDir) {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            assertThat(db.readCacheMaxAge()).isEqualTo(switch (kind) {
                case H2 -> ReadCache.UNTIL_INVALIDATED;
                case POSTGRESQL -> ReadCache.SHARED_MAX_AGE;
            });
        }
    }
}
