package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;
import java.math.BigDecimal;
import java.util.Map;
import java.util.TreeMap;

/**
 * One level of a sweep. Rates count successful requests only, over the level's wall time from the
 * first request sent to the last one finished. Percentiles are null where no request measured them. With sessions of
 * several turns every turn is a request.
 *
 * @param concurrency requests in flight at once; with Poisson arrivals, the most that may be
 * @param started when the level's first request was sent (ISO-8601, UTC, milliseconds)
 * @param requests requests sent
 * @param errors requests that failed
 * @param errorsByKind failed requests by why ({@code http_401}, {@code stream_error}, …)
 * @param seconds the level's wall time
 * @param requestsPerSecond successful requests per second
 * @param outputTokensPerSecond output tokens of successful requests per second
 * @param meanOutputTokens output tokens per successful request
 * @param ttftMs time to first token, of first turns (every request when sessions have one turn)
 * @param tpotMs time per output token after the first
 * @param itlMs gaps between token events, over all requests
 * @param e2eMs request latency
 * @param loadAverage the machine's one-minute load average when the level ended (what else competed for its
 *     processors: on a shared machine the figure every number here must be read with), or null where the
 *     system does not say
 * @param rate with Poisson arrivals, the sessions started per second; null for a closed loop
 * @param heldArrivals with Poisson arrivals, the arrivals that found {@code concurrency} sessions in flight and waited
 *     for one to end (the load outran the cap, and the level is no longer open-loop); 0 otherwise
 * @param laterTurnsTtftMs time to first token of turns 2 and later, whose prompts begin with the previous turn's;
 *     null with one turn
 * @param itlTail the far tail of {@code itlMs}: p99.9 and stalls
 */
public record LevelResult(int concurrency, String started, int requests, int errors, Map<String, Integer> errorsByKind, double seconds,
                          double requestsPerSecond, double outputTokensPerSecond, double meanOutputTokens,
                          @Nullable Percentiles ttftMs, @Nullable Percentiles tpotMs, @Nullable Percentiles itlMs,
                          @Nullable Percentiles e2eMs, @Nullable Double loadAverage, @Nullable Double rate,
                          int heldArrivals, @Nullable Percentiles laterTurnsTtftMs, @Nullable GapTail itlTail) {
    public LevelResult {
        requireNonNull(started, "started is null");
        errorsByKind = Map.copyOf(new TreeMap<>(requireNonNull(errorsByKind, "errorsByKind is null")));
        if (errors < 0 || errors > requests) {
            throw new IllegalArgumentException("errors %d out of %d requests".formatted(errors, requests));
        }
        if (heldArrivals < 0) {
            throw new IllegalArgumentException("heldArrivals is negative: " + heldArrivals);
        }
    }

    /** What the level is called in tables: its concurrency, or with Poisson arrivals its rate ({@code 2.5/s}). */
    public String label() {
        return rate == null ? String.valueOf(concurrency)
                : new BigDecimal(Double.toString(rate)).stripTrailingZeros().toPlainString() + "/s";
    }
}
