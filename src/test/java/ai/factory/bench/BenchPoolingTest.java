package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A level's figures pooled over the rounds of a sweep. */
class BenchPoolingTest {

    private static RequestResult ok(double ttft, double e2e, int tokens, double... itl) {
        return new RequestResult(null, ttft, e2e, tokens, itl, 1);
    }

    @Test
    void roundsPoolRequestsTokensTimeAndLoad() {
        LoadGenerator.Sample first = new LoadGenerator.Sample("2026-11-25T12:00:00.000Z", 2.0,
                new RequestResult[] {ok(100, 1000, 10, 10, 20), RequestResult.failed("http_500", 5)}, 1.0, 0);
        LoadGenerator.Sample second = new LoadGenerator.Sample("2026-11-25T12:01:00.000Z", 3.0,
                new RequestResult[] {ok(300, 2000, 20, 30), ok(200, 1500, 10)}, null, 0);
        LevelResult level = LoadGenerator.summarize(2, null, List.of(first, second));

        assertThat(level.started()).isEqualTo("2026-11-25T12:00:00.000Z");
        assertThat(level.requests()).isEqualTo(4);
        assertThat(level.errors()).isEqualTo(1);
        assertThat(level.errorsByKind()).containsExactly(java.util.Map.entry("http_500", 1));
        assertThat(level.seconds()).isEqualTo(5.0);
        assertThat(level.requestsPerSecond()).isCloseTo(3 / 5.0, within(1e-12));
        assertThat(level.outputTokensPerSecond()).isCloseTo(40 / 5.0, within(1e-12));
        assertThat(level.meanOutputTokens()).isCloseTo(40 / 3.0, within(1e-12));
        assertThat(level.ttftMs().p50()).isEqualTo(200); // of 100, 200, 300
        assertThat(level.itlMs().p50()).isEqualTo(20); // of 10, 20, 30
        assertThat(level.loadAverage()).isEqualTo(1.0); // the one known
    }

    @Test
    void aSweepCountsEveryRoundsRequests() {
        BenchOptions options = new BenchOptions(URI.create("http://127.0.0.1:1/v1"), null, "m", Endpoint.COMPLETIONS, 4, 4,
                List.of(1, 2, 4), 5, 3, 2, 32000, Duration.ofSeconds(1));
        try (LoadGenerator generator = new LoadGenerator(options, java.time.Clock.systemUTC(), () -> {})) {
            assertThat(generator.totalRequests()).isEqualTo(2 + 3 * 5 * 3);
        }
        assertThatThrownBy(() -> new BenchOptions(URI.create("http://x/v1"), null, "m", Endpoint.COMPLETIONS, 4, 4, List.of(1), 5, 0, 2,
                32000, Duration.ofSeconds(1))).hasMessageContaining("rounds must be between 1 and 1000");
    }

    @Test
    void comparisonsNeedTheSameSweepOnBothSides() {
        BenchOptions one = new BenchOptions(URI.create("http://127.0.0.1:1/v1"), null, "m", Endpoint.COMPLETIONS, 4, 4, List.of(1), 2, 2,
                0, 32000, Duration.ofSeconds(1));
        BenchOptions otherRounds = new BenchOptions(URI.create("http://127.0.0.1:2/v1"), "k", "n", Endpoint.COMPLETIONS, 4, 4, List.of(1),
                2, 3, 0, 32000, Duration.ofSeconds(1));
        assertThatThrownBy(() -> new Comparison("a", one, "b", otherRounds, java.time.Clock.systemUTC(), () -> {}))
                .hasMessageContaining("same sweep");
        assertThatThrownBy(() -> new Comparison("a", one, "a", one, java.time.Clock.systemUTC(), () -> {}))
                .hasMessageContaining("different names");
    }
}
