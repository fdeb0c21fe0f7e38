package ai.factory.fleet;

import static java.nio.charset.StandardCharsets.US_ASCII;

import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine's load average as Linux reports it in {@code /proc/loadavg}. */
public final class LoadAverage {
    private static final Path PROC_LOADAVG = Path.of("/proc/loadavg");

    private LoadAverage() {}

    /** The one-minute load average, or null where {@code /proc/loadavg} can't be read. */
    public static @Nullable Double oneMinute() {
        try {
            return parse(Files.readString(PROC_LOADAVG, US_ASCII));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The first field of a {@code /proc/loadavg} line ({@code "0.52 0.58 0.59 1/467 12345"}), or null when it
     * isn't a non-negative number.
     */
    public static @Nullable Double parse(String line) {
        String[] fields = line.strip().split("\\s+");
        try {
            double value = Double.parseDouble(fields[0]);
            return value >= 0 && Double.isFinite(value) ? value : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
