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
import java.util.function.Function;
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

    /** One column of a table: its heading and each row's cell. */
    private record Column<T>(String heading, Function<T, String> cell) {}

    /**
     * The columns of a report's own table. The TTFT of later turns appears with sessions of several turns, the held
     * arrivals with Poisson arrivals.
     */
    private static List<Column<LevelResult>> columns(BenchReport report) {
        Workload workload = report.workload();
        List<Column<LevelResult>> columns = new ArrayList<>();
        columns.add(new Column<>(workload.arrival() == Workload.Arrival.POISSON ? "RATE" : "CONC", LevelResult::label));
        columns.add(new Column<>("REQS", level -> String.valueOf(level.requests())));
        columns.add(new Column<>("ERRORS", BenchReports::errors));
        columns.add(new Column<>("REQ/S", level -> "%.2f".formatted(level.requestsPerSecond())));
        columns.add(new Column<>("OUT TOK/S", level -> "%.1f".formatted(level.outputTokensPerSecond())));
        columns.add(new Column<>("TOK/REQ", level -> "%.1f".formatted(level.meanOutputTokens())));
        columns.add(new Column<>(workload.turns() > 1 ? "TTFT turn 1 p50/p90/p99 ms" : "TTFT p50/p90/p99 ms",
                level -> triple(level.ttftMs())));
        if (workload.turns() > 1) {
            columns.add(new Column<>("TTFT turns 2+ p50/p90 ms", level -> pair(level.laterTurnsTtftMs())));
        }
        columns.add(new Column<>("TPOT p50/p90/p99 ms", level -> triple(level.tpotMs())));
        columns.add(new Column<>("ITL p50/p90/p99 ms", level -> triple(level.itlMs())));
        columns.add(new Column<>("ITL p99.9 ms", level -> level.itlTail() == null ? "-"
                : "%.1f".formatted(level.itlTail().p999Ms())));
        columns.add(new Column<>("STALLS > %s× ITL p50".formatted(number(GapTail.STALL_FACTOR, "%.0f")),
                level -> stalls(level.itlTail())));
        columns.add(new Column<>("E2E p50 ms",
                level -> level.e2eMs() == null ? "-" : "%.1f".formatted(level.e2eMs().p50())));
        if (workload.arrival() == Workload.Arrival.POISSON) {
            columns.add(new Column<>("HELD", level -> String.valueOf(level.heldArrivals())));
        }
        columns.add(new Column<>("LOAD", level -> number(level.loadAverage(), "%.2f")));
        return columns;
    }

    /** The table's column headings. */
    public static List<String> header(BenchReport report) {
        return columns(report).stream().map(Column::heading).toList();
    }

    /** One table row per level, in the order of {@link #header}. */
    public static List<List<String>> rows(BenchReport report) {
        return cells(columns(report), report.levels());
    }

    private static <T> List<List<String>> cells(List<Column<T>> columns, List<T> items) {
        return items.stream().map(item -> columns.stream().map(column -> column.cell().apply(item)).toList()).toList();
    }

    /** The report as a Markdown section: what was measured, then the table. */
    public static String markdown(BenchReport report) {
        StringBuilder md = new StringBuilder();
        md.append("`%s` at %s (%s), %s, %s%n%n".formatted(report.model(), report.target(), report.endpoint(),
                report.describe(), report.date()));
        table(md, header(report), rows(report));
        if (report.roofline() != null) {
            md.append('\n').append(report.roofline().describe()).append('\n');
        }
        return md.toString();
    }

    /**
     * The side-by-side table's columns, with the servers' names: output tokens/s, TTFT p50 (of first turns, and with
     * sessions of later ones), ITL p50 and p99, each with its ratio, and the stalls' shares and load averages of both.
     */
    private static List<Column<ComparisonReport.Row>> comparisonColumns(ComparisonReport comparison) {
        String a = comparison.name();
        String b = comparison.peerName();
        String ratio = a + " ÷ " + b;
        Workload workload = comparison.report().workload();
        List<Column<ComparisonReport.Row>> columns = new ArrayList<>();
        columns.add(new Column<>(workload.arrival() == Workload.Arrival.POISSON ? "RATE" : "CONC",
                ComparisonReport.Row::level));
        columns.add(new Column<>("OUT TOK/S " + a, row -> "%.1f".formatted(row.outputTokensPerSecond())));
        columns.add(new Column<>("OUT TOK/S " + b, row -> "%.1f".formatted(row.peerOutputTokensPerSecond())));
        columns.add(new Column<>(ratio, row -> number(row.outputTokensRatio(), "%.2f")));
        String ttft = workload.turns() > 1 ? "TTFT turn 1 p50 ms " : "TTFT p50 ms ";
        columns.add(new Column<>(ttft + a, row -> number(row.ttftP50Ms(), "%.1f")));
        columns.add(new Column<>(ttft + b, row -> number(row.peerTtftP50Ms(), "%.1f")));
        columns.add(new Column<>(ratio, row -> number(row.ttftRatio(), "%.2f")));
        if (workload.turns() > 1) {
            columns.add(new Column<>("TTFT turns 2+ p50 ms " + a, row -> number(row.laterTurnsTtftP50Ms(), "%.1f")));
            columns.add(new Column<>("TTFT turns 2+ p50 ms " + b,
                    row -> number(row.peerLaterTurnsTtftP50Ms(), "%.1f")));
            columns.add(new Column<>(ratio, row -> number(row.laterTurnsTtftRatio(), "%.2f")));
        }
        columns.add(new Column<>("ITL p50 ms " + a, row -> number(row.itlP50Ms(), "%.1f")));
        columns.add(new Column<>("ITL p50 ms " + b, row -> number(row.peerItlP50Ms(), "%.1f")));
        columns.add(new Column<>(ratio, row -> number(row.itlRatio(), "%.2f")));
        columns.add(new Column<>("ITL p99 ms " + a, row -> number(row.itlP99Ms(), "%.1f")));
        columns.add(new Column<>("ITL p99 ms " + b, row -> number(row.peerItlP99Ms(), "%.1f")));
        columns.add(new Column<>(ratio, row -> number(row.itlP99Ratio(), "%.2f")));
        columns.add(new Column<>("STALLS " + a + " / " + b,
                row -> percent(row.stallShare()) + " / " + percent(row.peerStallShare())));
        columns.add(new Column<>("LOAD " + a + " / " + b,
                row -> number(row.loadAverage(), "%.2f") + " / " + number(row.peerLoadAverage(), "%.2f")));
        return columns;
    }

    /** The side-by-side table's column headings, with the servers' names. */
    public static List<String> comparisonHeader(ComparisonReport comparison) {
        return comparisonColumns(comparison).stream().map(Column::heading).toList();
    }

    /** One side-by-side row per level, in the order of {@link #comparisonHeader}. */
    public static List<List<String>> comparisonRows(ComparisonReport comparison) {
        return cells(comparisonColumns(comparison), comparison.rows());
    }

    /** The comparison as Markdown: the side-by-side table, then each server's own table. */
    public static String markdown(ComparisonReport comparison) {
        BenchReport a = comparison.report();
        StringBuilder md = new StringBuilder();
        md.append("`%s` (%s) against `%s` (%s), %s, %s, %s%n%n".formatted(comparison.name(), a.target(),
                comparison.peerName(), comparison.peer().target(), a.endpoint(), a.describe(), a.date()));
        table(md, comparisonHeader(comparison), comparisonRows(comparison));
        for (BenchReport report : List.of(a, comparison.peer())) {
            md.append("\n**").append(report == a ? comparison.name() : comparison.peerName()).append("** (`").append(report.model())
                    .append("` at ").append(report.target()).append(")\n\n");
            table(md, header(report), rows(report));
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

    /**
     * A PNG of both servers' output tokens/s (left axis) and TTFT p50 (right axis) against concurrency (or, with
     * Poisson arrivals, the rate), over a panel of their ITL p99.
     */
    public static void writeChart(ComparisonReport comparison, Path file) throws IOException {
        BenchReport first = comparison.report();
        XYChart chart = chart("%s and %s, %s: %d prompt + %d output tokens".formatted(comparison.name(), comparison.peerName(),
                first.model(), first.promptTokens(), first.outputTokens()), first);
        XYChart itl = itlChart(first);
        series(chart, itl, comparison.name() + " ", first, FIRST_COLOR, SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND);
        series(chart, itl, comparison.peerName() + " ", comparison.peer(), PEER_COLOR, SeriesMarkers.SQUARE,
                SeriesMarkers.TRIANGLE_UP);
        save(List.of(chart, itl), file);
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

    /**
     * A PNG of output tokens/s (left axis) and TTFT p50 (right axis) against concurrency (or, with Poisson arrivals,
     * the rate), over a panel of ITL p99.
     */
    public static void writeChart(BenchReport report, Path file) throws IOException {
        XYChart chart = chart("%s: %d prompt + %d output tokens".formatted(report.model(), report.promptTokens(),
                report.outputTokens()), report);
        XYChart itl = itlChart(report);
        series(chart, itl, "", report, FIRST_COLOR, SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND);
        save(List.of(chart, itl), file);
    }

    private static XYChart chart(String title, BenchReport report) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xTitle(report)).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.setYAxisGroupTitle(0, "output tokens/s");
        chart.setYAxisGroupTitle(1, "TTFT p50 (ms)");
        return chart;
    }

    /** The panel under the main chart: ITL p99 against the same levels. */
    private static XYChart itlChart(BenchReport report) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title("inter-token latency, p99")
                .xAxisTitle(xTitle(report)).yAxisTitle("ITL p99 (ms)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        return chart;
    }

    private static String xTitle(BenchReport report) {
        return report.workload().arrival() == Workload.Arrival.POISSON ? "requests started per second"
                : "concurrent requests";
    }

    /** Where a level lies on the x axis: its concurrency, or its rate. */
    private static double x(LevelResult level) {
        return level.rate() == null ? level.concurrency() : level.rate();
    }

    /**
     * Adds a report's output tokens/s (solid) and TTFT p50 (dashed) series to {@code chart}, and its ITL p99 to
     * {@code itlChart}, in one colour, their names starting with {@code prefix}.
     */
    private static void series(XYChart chart, XYChart itlChart, String prefix, BenchReport report, Color color,
                               Marker tokensMarker, Marker ttftMarker) {
        List<Double> x = report.levels().stream().map(BenchReports::x).toList();
        List<Double> tokens = report.levels().stream().map(LevelResult::outputTokensPerSecond).toList();
        XYSeries throughput = chart.addSeries(prefix + "output tokens/s", x, tokens);
        throughput.setMarker(tokensMarker);
        throughput.setLineColor(color);
        throughput.setMarkerColor(color);
        List<Double> ttftX = new ArrayList<>();
        List<Double> ttft = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            if (level.ttftMs() != null) {
                ttftX.add(x(level));
                ttft.add(level.ttftMs().p50());
            }
        }
        List<Double> itlX = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            if (level.itlMs() != null) {
                itlX.add(x(level));
                itl.add(level.itlMs().p99());
            }
        }
        if (!itl.isEmpty()) {
            XYSeries series = itlChart.addSeries(prefix + "ITL p99 (ms)", itlX, itl);
            series.setMarker(tokensMarker);
            series.setLineColor(color);
            series.setMarkerColor(color);
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

    /** The charts, all of one size, one above the other in one PNG. */
    private static void save(List<XYChart> charts, Path file) throws IOException {
        requireNonNull(file, "file is null");
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(charts, charts.size(), 1, out, BitmapEncoder.BitmapFormat.PNG);
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

    private static String pair(@Nullable Percentiles p) {
        return p == null ? "-" : "%.1f / %.1f".formatted(p.p50(), p.p90());
    }

    /** A level's stalls: their count and share of the gaps ({@code 3 (0.5%)}). */
    private static String stalls(@Nullable GapTail tail) {
        return tail == null ? "-" : "%d (%s)".formatted(tail.stalls(), percent(tail.stallShare()));
    }

    private static String percent(@Nullable Double share) {
        return share == null ? "-" : "%.1f%%".formatted(100 * share);
    }
}
