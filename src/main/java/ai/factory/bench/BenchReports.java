package ai.factory.bench;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import ai.factory.Json;
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
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A {@link BenchReport} as a table (rows for the terminal or Markdown), JSON and a PNG chart. */
public final class BenchReports {
    private BenchReports() {}

    /** The table's column headings. */
    public static List<String> header() {
        return List.of("CONC", "REQS", "ERRORS", "REQ/S", "OUT TOK/S", "TOK/REQ", "TTFT p50/p90/p99 ms", "TPOT p50/p90/p99 ms",
                "ITL p50/p90/p99 ms", "E2E p50 ms");
    }

    /** One table row per level, in the order of {@link #header()}. */
    public static List<List<String>> rows(BenchReport report) {
        List<List<String>> rows = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            rows.add(List.of(String.valueOf(level.concurrency()), String.valueOf(level.requests()), errors(level),
                    "%.2f".formatted(level.requestsPerSecond()), "%.1f".formatted(level.outputTokensPerSecond()),
                    "%.1f".formatted(level.meanOutputTokens()), triple(level.ttftMs()), triple(level.tpotMs()), triple(level.itlMs()),
                    level.e2eMs() == null ? "-" : "%.1f".formatted(level.e2eMs().p50())));
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
        for (List<String> row : rows(report)) {
            md.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        return md.toString();
    }

    public static void writeMarkdown(BenchReport report, Path file) throws IOException {
        Files.writeString(file, markdown(report), UTF_8);
    }

    public static void writeJson(BenchReport report, Path file) throws IOException {
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), report);
    }

    /** A PNG of output tokens/s (left axis) and TTFT p50 (right axis) against concurrency. */
    public static void writeChart(BenchReport report, Path file) throws IOException {
        requireNonNull(file, "file is null");
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500)
                .title("%s: %d prompt + %d output tokens".formatted(report.model(), report.promptTokens(), report.outputTokens()))
                .xAxisTitle("concurrent requests").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.setYAxisGroupTitle(0, "output tokens/s");
        chart.setYAxisGroupTitle(1, "TTFT p50 (ms)");
        List<Double> x = report.levels().stream().map(l -> (double) l.concurrency()).toList();
        List<Double> tokens = report.levels().stream().map(LevelResult::outputTokensPerSecond).toList();
        chart.addSeries("output tokens/s", x, tokens).setMarker(SeriesMarkers.CIRCLE);
        List<Double> ttftX = new ArrayList<>();
        List<Double> ttft = new ArrayList<>();
        for (LevelResult level : report.levels()) {
            if (level.ttftMs() != null) {
                ttftX.add((double) level.concurrency());
                ttft.add(level.ttftMs().p50());
            }
        }
        if (!ttft.isEmpty()) {
            XYSeries series = chart.addSeries("TTFT p50 (ms)", ttftX, ttft);
            series.setYAxisGroup(1);
            series.setMarker(SeriesMarkers.DIAMOND);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static String errors(LevelResult level) {
        if (level.errors() == 0) {
            return "0";
        }
        return level.errors() + " (" + level.errorsByKind().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")) + ")";
    }

    private static String triple(Percentiles p) {
        return p == null ? "-" : "%.1f / %.1f / %.1f".formatted(p.p50(), p.p90(), p.p99());
    }
}
