package ai.factory.cli;

import static java.util.Objects.requireNonNull;

import ai.factory.api.codec.admin.TrainingJobWire.Metric;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A training job's loss curve as a PNG, drawn headless with XChart as {@code factory bench --chart} draws. */
final class LossChart {
    private static final Color STEP_COLOR = new Color(0x1f, 0x77, 0xb4);
    private static final Color EPOCH_COLOR = new Color(0x2c, 0xa0, 0x2c);
    private static final Color VALIDATION_COLOR = new Color(0xd6, 0x27, 0x28);

    private LossChart() {}

    /**
     * Writes the chart: every step's loss (a thin line), each epoch's mean training loss and each epoch's validation
     * loss (markers at the epoch's last step), against the step.
     */
    static void write(String title, List<Metric> metrics, Path file) throws IOException {
        requireNonNull(file, "file is null");
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(500).title(title).xAxisTitle("step")
                .yAxisTitle("loss").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        add(chart, "step loss", metrics.stream().filter(m -> m.kind().equals("step")).toList(), false, STEP_COLOR);
        List<Metric> epochs = metrics.stream().filter(m -> m.kind().equals("epoch")).toList();
        add(chart, "epoch training loss", epochs, false, EPOCH_COLOR);
        add(chart, "epoch validation loss", epochs, true, VALIDATION_COLOR);
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static void add(XYChart chart, String name, List<Metric> points, boolean validation, Color color) {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (Metric m : points) {
            Double value = validation ? m.validationLoss() : Double.valueOf(m.loss());
            if (value != null && Double.isFinite(value)) {
                x.add((double) m.step());
                y.add(value);
            }
        }
        if (x.isEmpty()) {
            return;
        }
        XYSeries series = chart.addSeries(name, x, y);
        series.setLineColor(color);
        series.setMarkerColor(color);
        if (name.startsWith("step")) {
            series.setMarker(SeriesMarkers.NONE);
            series.setLineStyle(new BasicStroke(1f));
        } else {
            series.setMarker(validation ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
        }
    }
}
