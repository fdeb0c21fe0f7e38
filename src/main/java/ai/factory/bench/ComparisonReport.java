package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;

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
            LevelResult a = report.levels().get(i);
            LevelResult b = peer.levels().get(i);
            if (a.concurrency() != b.concurrency() || !a.label().equals(b.label())) {
                throw new IllegalArgumentException("level %d is %s in one report and %s in the other".formatted(i,
                        describe(a), describe(b)));
            }
        }
    }

    private static String describe(LevelResult level) {
        return level.rate() == null ? "concurrency " + level.concurrency()
                : "rate %s with at most %d in flight".formatted(level.label(), level.concurrency());
    }

    /**
     * One level of both.
     *
     * @param level the level's name in tables: its concurrency, or its rate ({@code 2/s})
     * @param concurrency requests in flight (with Poisson arrivals, at most)
     * @param outputTokensPerSecond the first server's output tokens per second, and {@code peer…} the second's
     * @param ttftP50Ms time to first token (of first turns), p50; null where no request measured one
     * @param laterTurnsTtftP50Ms time to first token of turns 2 and later, p50; null likewise
     * @param itlP50Ms inter-token latency, p50; null likewise
     * @param itlP99Ms inter-token latency, p99; null likewise
     * @param stallShare the share of inter-token gaps that are stalls ({@link GapTail}); null likewise
     * @param loadAverage the load average at the end of the first server's level, and {@code peer…} at the end of the
     *     second's; null where unknown
     */
    public record Row(String level, int concurrency, double outputTokensPerSecond, double peerOutputTokensPerSecond,
                      @Nullable Double ttftP50Ms, @Nullable Double peerTtftP50Ms,
                      @Nullable Double laterTurnsTtftP50Ms, @Nullable Double peerLaterTurnsTtftP50Ms,
                      @Nullable Double itlP50Ms, @Nullable Double peerItlP50Ms,
                      @Nullable Double itlP99Ms, @Nullable Double peerItlP99Ms,
                      @Nullable Double stallShare, @Nullable Double peerStallShare,
                      @Nullable Double loadAverage, @Nullable Double peerLoadAverage) {
        public Row {
            requireNonNull(level, "level is null");
        }

        /** Output tokens/s, first ÷ second; null when the second made none. */
        public @Nullable Double outputTokensRatio() {
            return ratio(outputTokensPerSecond, peerOutputTokensPerSecond);
        }

        /** TTFT p50, first ÷ second. */
        public @Nullable Double ttftRatio() {
            return ttftP50Ms == null ? null : ratio(ttftP50Ms, peerTtftP50Ms);
        }

        /** TTFT p50 of turns 2 and later, first ÷ second. */
        public @Nullable Double laterTurnsTtftRatio() {
            return laterTurnsTtftP50Ms == null ? null : ratio(laterTurnsTtftP50Ms, peerLaterTurnsTtftP50Ms);
        }

        /** ITL p50, first ÷ second. */
        public @Nullable Double itlRatio() {
            return itlP50Ms == null ? null : ratio(itlP50Ms, peerItlP50Ms);
        }

        /** ITL p99, first ÷ second. */
        public @Nullable Double itlP99Ratio() {
            return itlP99Ms == null ? null : ratio(itlP99Ms, peerItlP99Ms);
        }
    }

    /** The levels side by side, in sweep order. */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < report.levels().size(); i++) {
            LevelResult a = report.levels().get(i);
            LevelResult b = peer.levels().get(i);
            rows.add(new Row(a.label(), a.concurrency(), a.outputTokensPerSecond(), b.outputTokensPerSecond(),
                    p50(a.ttftMs()), p50(b.ttftMs()), p50(a.laterTurnsTtftMs()), p50(b.laterTurnsTtftMs()),
                    p50(a.itlMs()), p50(b.itlMs()), p99(a.itlMs()), p99(b.itlMs()), stallShare(a), stallShare(b),
                    a.loadAverage(), b.loadAverage()));
        }
        return rows;
    }

    private static @Nullable Double p50(@Nullable Percentiles p) {
        return p == null ? null : p.p50();
    }

    private static @Nullable Double p99(@Nullable Percentiles p) {
        return p == null ? null : p.p99();
    }

    private static @Nullable Double stallShare(LevelResult level) {
        return level.itlTail() == null ? null : level.itlTail().stallShare();
    }

    static @Nullable Double ratio(@Nullable Double a, @Nullable Double b) {
        return a == null || b == null || !(b > 0) ? null : a / b;
    }
}
