package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Two servers' results of the same sweep, side by side, the shape of {@code factory bench --peer-url … --json}.
 * Ratios are the first server's figure divided by the second's: above 1 the first makes more tokens per second,
 * and, for latencies, takes longer.
 *
 * @param name what the first server is called in tables (e.g. {@code factory})
 * @param peerName what the second is called (e.g. {@code llama-server})
 * @param report the first server's results
 * @param peer the second server's
 */
public record ComparisonReport(String name, String peerName, BenchReport report, BenchReport peer) {
    public ComparisonReport {
        requireNonNull(name, "name is null");
        requireNonNull(peerName, "peerName is null");
        requireNonNull(report, "report is null");
        requireNonNull(peer, "peer is null");
        if (report.levels().size() != peer.levels().size()) {
            throw new IllegalArgumentException("the two reports have %d and %d levels".formatted(report.levels().size(), peer.levels().size()));
        }
        for (int i = 0; i < report.levels().size(); i++) {
            if (report.levels().get(i).concurrency() != peer.levels().get(i).concurrency()) {
                throw new IllegalArgumentException("level %d has concurrency %d in one report and %d in the other".formatted(
                        i, report.levels().get(i).concurrency(), peer.levels().get(i).concurrency()));
            }
        }
    }

    /**
     * One level of both.
     *
     * @param concurrency requests in flight
     * @param outputTokensPerSecond the first server's output tokens per second, and {@code peer…} the second's
     * @param ttftP50Ms time to first token, p50; null where no request measured one
     * @param itlP50Ms inter-token latency, p50; null likewise
     * @param loadAverage the load average at the end of the first server's level, and {@code peer…} at the end of the
     *     second's; null where unknown
     */
    public record Row(int concurrency, double outputTokensPerSecond, double peerOutputTokensPerSecond,
                      @Nullable Double ttftP50Ms,
                      @Nullable Double peerTtftP50Ms, @Nullable Double itlP50Ms, @Nullable Double peerItlP50Ms,
                      @Nullable Double loadAverage, @Nullable Double peerLoadAverage) {
        /** Output tokens/s, first ÷ second; null when the second made none. */
        public @Nullable Double outputTokensRatio() {
            return ratio(outputTokensPerSecond, peerOutputTokensPerSecond);
        }

        /** TTFT p50, first ÷ second. */
        public @Nullable Double ttftRatio() {
            return ttftP50Ms == null ? null : ratio(ttftP50Ms, peerTtftP50Ms);
        }

        /** ITL p50, first ÷ second. */
        public @Nullable Double itlRatio() {
            return itlP50Ms == null ? null : ratio(itlP50Ms, peerItlP50Ms);
        }
    }

    /** The levels side by side, in sweep order. */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < report.levels().size(); i++) {
            LevelResult a = report.levels().get(i);
            LevelResult b = peer.levels().get(i);
            rows.add(new Row(a.concurrency(), a.outputTokensPerSecond(), b.outputTokensPerSecond(), p50(a, LevelResult::ttftMs),
                    p50(b, LevelResult::ttftMs), p50(a, LevelResult::itlMs), p50(b, LevelResult::itlMs), a.loadAverage(), b.loadAverage()));
        }
        return rows;
    }

    private static @Nullable Double p50(LevelResult level, Function<LevelResult, @Nullable Percentiles> which) {
        Percentiles p = which.apply(level);
        return p == null ? null : p.p50();
    }

    static @Nullable Double ratio(@Nullable Double a, @Nullable Double b) {
        return a == null || b == null || !(b > 0) ? null : a / b;
    }
}
