package ai.factory.bench;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The result of a sweep, the shape of {@code factory bench --json}.
 *
 * @param target the API's base URL
 * @param model the model benchmarked
 * @param endpoint {@code completions} or {@code chat}
 * @param promptTokens prompt length
 * @param outputTokens output tokens requested per request
 * @param date when the sweep started (ISO-8601, UTC)
 * @param levels one per concurrency level, in sweep order
 * @param roofline single-stream decoding against the memory-bandwidth roofline, or null when not asked for
 */
public record BenchReport(String target, String model, String endpoint, int promptTokens, int outputTokens, String date,
                          List<LevelResult> levels, @Nullable RooflineReport roofline) {
    public BenchReport {
        requireNonNull(target, "target is null");
        requireNonNull(model, "model is null");
        requireNonNull(endpoint, "endpoint is null");
        requireNonNull(date, "date is null");
        levels = List.copyOf(requireNonNull(levels, "levels is null"));
    }

    /** This report with {@code roofline}. */
    public BenchReport withRoofline(RooflineReport roofline) {
        return new BenchReport(target, model, endpoint, promptTokens, outputTokens, date, levels, roofline);
    }

    /** Whether every request of every level failed: nothing was measured. */
    public boolean allFailed() {
        return levels.stream().allMatch(l -> l.errors() == l.requests());
    }
}
