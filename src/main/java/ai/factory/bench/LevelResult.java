package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;
import java.util.Map;
import java.util.TreeMap;

/**
 * One level of a sweep. Rates count successful requests only, over the level's wall time from the
 * first request sent to the last one finished. Percentiles are null where no request measured them.
 *
 * @param concurrency requests in flight at once
 * @param started when the level's first request was sent (ISO-8601, UTC, milliseconds)
 * @param requests requests sent
 * @param errors requests that failed
 * @param errorsByKind failed requests by why ({@code http_401}, {@code stream_error}, …)
 * @param seconds the level's wall time
 * @param requestsPerSecond successful requests per second
 * @param outputTokensPerSecond output tokens of successful requests per second
 * @param meanOutputTokens output tokens per successful request
 * @param ttftMs time to first token
 * @param tpotMs time per output token after the first
 * @param itlMs gaps between token events, over all requests
 * @param e2eMs request latency
 * @param loadAverage the machine's one-minute load average when the level ended (what else competed for its
 *     processors: on a shared machine the figure every number here must be read with), or null where the
 *     system does not say
 */
public record LevelResult(int concurrency, String started, int requests, int errors, Map<String, Integer> errorsByKind, double seconds,
                          double requestsPerSecond, double outputTokensPerSecond, double meanOutputTokens,
                          @Nullable Percentiles ttftMs, @Nullable Percentiles tpotMs, @Nullable Percentiles itlMs,
                          @Nullable Percentiles e2eMs, @Nullable Double loadAverage) {
    public LevelResult {
        requireNonNull(started, "started is null");
        errorsByKind = Map.copyOf(new TreeMap<>(requireNonNull(errorsByKind, "errorsByKind is null")));
        if (errors < 0 || errors > requests) {
            throw new IllegalArgumentException("errors %d out of %d requests".formatted(errors, requests));
        }
    }
}
