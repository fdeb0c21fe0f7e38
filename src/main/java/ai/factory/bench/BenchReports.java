package ai.factory.bench;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import org.jspecify.annotations.Nullable;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A {@link BenchReport}, or two side by side in a {@link ComparisonReport}, as a table (rows for the terminal or
 * Markdown), JSON and a PNG chart.
 */
public final class BenchReports {
    private static final Color FIRST_COLOR = new Color(0x1f, 0x77, 0xb4);
    private static final Color PEER_COLOR = new Color(0xd6, 0x27, 0x28);

    private BenchReports() {}

    /** The table's column headings. */
    public static List<String> header() {
        return List.of("CONC", "REQS", "ERRORS", "REQ/S", "OUT TOK/S", "TOK/REQ", "TTFT p50/p90/p99 ms", "TPOT p50/p90/p99 ms",
                "ITL p50/p90/p99 ms", "E2E p50 ms", "LOAD");
    }

    /** One table row per level, in the order of {@link #header()}. */
    public static List<List<String>> rows(BenchReport report) {
        List<List<String>> rows = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            rows.add(List.of(String.valueOf(level.concurrency()), String.valueOf(level.requests()), errors(level),
                    "%.2f".formatted(level.requestsPerSecond()), "%.1f".formatted(level.outputTokensPerSecond()),
                    "%.1f".formatted(level.meanOutputTokens()), triple(level.ttftMs()), triple(level.tpotMs()), triple(level.itlMs()),
                    level.e2eMs() == null ? "-" : "%.1f".formatted(level.e2eMs().p50()), number(level.loadAverage(), "%.2f")));
        }
        return rows;
    }

    /** The report as a Markdown section: what was measured, then the table. */
    public static String markdown(BenchReport report) {
        StringBuilder md = new StringBuilder();
        md.append("`%s` at %s (%s), %d prompt tokens, %d output tokens per request, %s%n%n".formatted(
                report.model(), report.target(), report.endpoint(), report.promptTokens(), report.outputTokens(), report.date()));
        md.append("| ").append(String.join(" | ", header())).append(" |\n");
        md.append("|").append(" --- |".repeat(header().size())).append('\n');
        table(md, header(), rows(report));
        if (report.roofline() != null) {
            md.append('\n').append(report.roofline().describe()).append('\n');
        }
        return md.toString();
    }

    /** The side-by-side table's column headings, with the servers' names. */
    public static List<String> comparisonHeader(ComparisonReport comparison) {
        String a = comparison.name();
        String b = comparison.peerName();
        String ratio = a + " ÷ " + b;
        return List.of("CONC", "OUT TOK/S " + a, "OUT TOK/S " + b, ratio, "TTFT p50 ms " + a, "TTFT p50 ms " + b, ratio,
                "ITL p50 ms " + a, "ITL p50 ms " + b, ratio, "LOAD " + a + " / " + b);
    }

    /** One side-by-side row per level, in the order of {@link #comparisonHeader}. */
    public static List<List<String>> comparisonRows(ComparisonReport comparison) {
        List<List<String>> rows = new ArrayList<>();
        for (ComparisonReport.Row row : comparison.rows()) {
            rows.add(List.of(String.valueOf(row.concurrency()), "%.1f".formatted(row.outputTokensPerSecond()),
                    "%.1f".formatted(row.peerOutputTokensPerSecond()), number(row.outputTokensRatio(), "%.2f"),
                    number(row.ttftP50Ms(), "%.1f"), number(row.peerTtftP50Ms(), "%.1f"), number(row.ttftRatio(), "%.2f"),
                    number(row.itlP50Ms(), "%.1f"), number(row.peerItlP50Ms(), "%.1f"), number(row.itlRatio(), "%.2f"),
                    number(row.loadAverage(), "%.2f") + " / " + number(row.peerLoadAverage(), "%.2f")));
        }
        return rows;
    }

    /** The comparison as Markdown: the side-by-side table, then each server's own table. */
    public static String markdown(ComparisonReport comparison) {
        BenchReport a = comparison.report();
        StringBuilder md = new StringBuilder();
        md.append("`%s` (%s) against `%s` (%s), %s, %d prompt tokens, %d output tokens per request, %s%n%n".formatted(
                comparison.name(), a.target(), comparison.peerName(), comparison.peer().target(), a.endpoint(), a.promptTokens(),
                a.outputTokens(), a.date()));
        table(md, comparisonHeader(comparison), comparisonRows(comparison));
        for (BenchReport report : List.of(a, comparison.peer())) {
            md.append("\n**").append(report == a ? comparison.name() : comparison.peerName()).append("** (`").append(report.model())
                    .append("` at ").append(report.target()).append(")\n\n");
            table(md, header(), rows(report));
            if (report.roofline() != null) {
                md.append('\n').append(report.roofline().describe()).append('\n');
            }
        }
        return md.toString();
    }

    public static void writeMarkdown(ComparisonReport comparison, Path file) throws IOException {
        Files.writeString(file, markdown(comparison), UTF_8);
    }

    public static void writeJson(ComparisonReport comparison, Path file) throws IOException {
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), comparison);
    }

    /** A PNG of both servers' output tokens/s (left axis) and TTFT p50 (right axis) against concurrency. */
    public static void writeChart(ComparisonReport comparison, Path file) throws IOException {
        BenchReport first = comparison.report();
        XYChart chart = chart("%s and %s, %s: %d prompt + %d output tokens".formatted(comparison.name(), comparison.peerName(),
                first.model(), first.promptTokens(), first.outputTokens()));
        series(chart, comparison.name() + " ", first, FIRST_COLOR, SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND);
        series(chart, comparison.peerName() + " ", comparison.peer(), PEER_COLOR, SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP);
        save(chart, file);
    }

    private static void table(StringBuilder md, List<String> header, List<List<String>> rows) {
        md.append("| ").append(String.join(" | ", header)).append(" |\n");
        md.append("|").append(" --- |".repeat(header.size())).append('\n');
        for (List<String> row : rows) {
            md.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
    }

    public static void writeMarkdown(BenchReport report, Path file) throws IOException {
        Files.writeString(file, markdown(report), UTF_8);
    }

    public static void writeJson(BenchReport report, Path file) throws IOException {
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), report);
    }

    /** A PNG of output tokens/s (left axis) and TTFT p50 (right axis) against concurrency. */
    public static void writeChart(BenchReport report, Path file) throws IOException {
        XYChart chart = chart("%s: %d prompt + %d output tokens".formatted(report.model(), report.promptTokens(), report.outputTokens()));
        series(chart, "", report, FIRST_COLOR, SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND);
        save(chart, file);
    }

    private static XYChart chart(String title) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("concurrent requests").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.setYAxisGroupTitle(0, "output tokens/s");
        chart.setYAxisGroupTitle(1, "TTFT p50 (ms)");
        return chart;
    }

    /**
     * Adds a report's output tokens/s (solid) and TTFT p50 (dashed) series in one colour, their names starting with
     * {@code prefix}.
     */
    private static void series(XYChart chart, String prefix, BenchReport report, Color color, Marker tokensMarker, Marker ttftMarker) {
        List<Double> x = report.levels().stream().map(l -> (double) l.concurrency()).toList();
        List<Double> tokens = report.levels().stream().map(LevelResult::outputTokensPerSecond).toList();
        XYSeries throughput = chart.addSeries(prefix + "output tokens/s", x, tokens);
        throughput.setMarker(tokensMarker);
        throughput.setLineColor(color);
        throughput.setMarkerColor(color);
        List<Double> ttftX = new ArrayList<>();
        List<Double> ttft = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            if (level.ttftMs() != null) {
                ttftX.add((double) level.concurrency());
                ttft.add(level.ttftMs().p50());
            }
        }
        if (!ttft.isEmpty()) {
            XYSeries series = chart.addSeries(prefix + "TTFT p50 (ms)", ttftX, ttft);
            series.setYAxisGroup(1);
            series.setMarker(ttftMarker);
            series.setLineColor(color);
            series.setMarkerColor(color);
            series.setLineStyle(SeriesLines.DASH_DASH);
        }
    }

    private static void save(XYChart chart, Path file) throws IOException {
        requireNonNull(file, "file is null");
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static String number(@Nullable Double value, String format) {
        return value == null ? "-" : format.formatted(value);
    }

    private static String errors(LevelResult level) {
        if (level.errors() == 0) {
            return "0";
        }
        return level.errors() + " (" + level.errorsByKind().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")) + ")";
    }

    private static String triple(@Nullable Percentiles p) {
        return p == null ? "-" : "%.1f / %.1f / %.1f".formatted(p.p50(), p.p90(), p.p99());
    }
}
