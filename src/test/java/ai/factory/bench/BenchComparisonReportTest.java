package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The side-by-side arithmetic and table of two servers' results. */
class BenchComparisonReportTest {

    private static LevelResult level(int concurrency, double tokensPerSecond, double ttft, double itl, Double load) {
        return new LevelResult(concurrency, "2026-11-25T12:00:00Z", 8, 0, Map.of(), 10, 0.8, tokensPerSecond, 32,
                new Percentiles(ttft, ttft + 1, ttft + 2), new Percentiles(itl, itl, itl), new Percentiles(itl, itl + 1, itl + 2),
                new Percentiles(1000, 1000, 1000), load, null, 0, null, new GapTail(itl + 3, 5 * itl, 2, 400));
    }

    private static LevelResult failedLevel(int concurrency) {
        return new LevelResult(concurrency, "2026-11-25T12:00:00Z", 8, 8, Map.of("connection", 8), 1, 0, 0, 0, null,
                null, null, null, null, null, 0, null, null);
    }

    private static BenchReport report(String target, LevelResult... levels) {
        return new BenchReport(target, "m", "completions", 128, 32, "2026-11-25T12:00:00Z", List.of(levels), null,
                Workload.closed(128));
    }

    @Test
    void ratiosAreTheFirstServersFiguresOverTheSeconds() {
        ComparisonReport comparison = new ComparisonReport("factory", "llama-server",
                report("http://a/v1", level(1, 15, 1500, 66, 0.4), level(4, 30, 4000, 100, 1.9)),
                report("http://b/v1", level(1, 12, 1600, 60, 0.6), level(4, 40, 3000, 125, 2.1)));
        List<ComparisonReport.Row> rows = comparison.rows();
        assertThat(rows).extracting(ComparisonReport.Row::concurrency).containsExactly(1, 4);
        ComparisonReport.Row one = rows.getFirst();
        assertThat(one.outputTokensRatio()).isCloseTo(1.25, within(1e-12));
        assertThat(one.ttftRatio()).isCloseTo(1500.0 / 1600, within(1e-12));
        assertThat(one.itlRatio()).isCloseTo(1.1, within(1e-12));
        assertThat(one.loadAverage()).isEqualTo(0.4);
        assertThat(one.peerLoadAverage()).isEqualTo(0.6);
        assertThat(rows.get(1).outputTokensRatio()).isCloseTo(0.75, within(1e-12));
        assertThat(rows.get(1).itlRatio()).isCloseTo(0.8, within(1e-12));

        assertThat(BenchReports.comparisonHeader(comparison)).contains("OUT TOK/S factory", "OUT TOK/S llama-server",
                "factory ÷ llama-server");
        assertThat(BenchReports.comparisonRows(comparison).getFirst())
                .containsExactly("1", "15.0", "12.0", "1.25", "1500.0", "1600.0", "0.94", "66.0", "60.0", "1.10",
                        "68.0", "62.0", "1.10", "0.5% / 0.5%", "0.40 / 0.60");
        String markdown = BenchReports.markdown(comparison);
        assertThat(markdown).contains("| CONC | OUT TOK/S factory | OUT TOK/S llama-server | factory ÷ llama-server |")
                .contains("| 4 | 30.0 | 40.0 | 0.75 | 4000.0 | 3000.0 | 1.33 | 100.0 | 125.0 | 0.80 | 102.0 | 127.0 "
                        + "| 0.80 | 0.5% / 0.5% | 1.90 / 2.10 |")
                .contains("**factory** (`m` at http://a/v1)").contains("**llama-server** (`m` at http://b/v1)");
    }

    @Test
    void aLevelWhereEitherServerMeasuredNothingHasNoRatios() {
        ComparisonReport comparison = new ComparisonReport("a", "b", report("http://a/v1", level(1, 15, 1500, 66, null)),
                report("http://b/v1", failedLevel(1)));
        ComparisonReport.Row row = comparison.rows().getFirst();
        assertThat(row.outputTokensRatio()).isNull();
        assertThat(row.ttftRatio()).isNull();
        assertThat(row.itlRatio()).isNull();
        assertThat(BenchReports.comparisonRows(comparison).getFirst())
                .containsExactly("1", "15.0", "0.0", "-", "1500.0", "-", "-", "66.0", "-", "-", "68.0", "-", "-",
                        "0.5% / -", "- / -");

        ComparisonReport reversed = new ComparisonReport("b", "a", report("http://b/v1", failedLevel(1)),
                report("http://a/v1", level(1, 15, 1500, 66, null)));
        assertThat(reversed.rows().getFirst().outputTokensRatio()).isZero();
        assertThat(reversed.rows().getFirst().ttftRatio()).isNull();
    }

    @Test
    void reportsOfDifferentSweepsCannotBeSideBySide() {
        assertThatThrownBy(() -> new ComparisonReport("a", "b", report("http://a/v1", level(1, 1, 1, 1, null)),
                report("http://b/v1", level(2, 1, 1, 1, null))))
                .hasMessageContaining("concurrency 1 in one report and concurrency 2");
        assertThatThrownBy(() -> new ComparisonReport("a", "b", report("http://a/v1", level(1, 1, 1, 1, null)),
                report("http://b/v1"))).hasMessageContaining("1 and 0 levels");
    }
}
