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
 * @param promptTokens the first turns' mean prompt length: the shared prefix and the mean of the prompts' own tokens
 * @param outputTokens output tokens requested per request
 * @param date when the sweep started (ISO-8601, UTC)
 * @param levels one per concurrency level, in sweep order
 * @param roofline single-stream decoding against the memory-bandwidth roofline, or null when not asked for
 * @param workload the prompts, sessions and arrivals measured
 */
public record BenchReport(String target, String model, String endpoint, int promptTokens, int outputTokens, String date,
                          List<LevelResult> levels, @Nullable RooflineReport roofline, Workload workload) {
    public BenchReport {
        requireNonNull(target, "target is null");
        requireNonNull(model, "model is null");
        requireNonNull(endpoint, "endpoint is null");
        requireNonNull(date, "date is null");
        levels = List.copyOf(requireNonNull(levels, "levels is null"));
        requireNonNull(workload, "workload is null");
    }

    /** This report with {@code roofline}. */
    public BenchReport withRoofline(RooflineReport roofline) {
        return new BenchReport(target, model, endpoint, promptTokens, outputTokens, date, levels, roofline, workload);
    }

    /**
     * What was measured, in words: the prompts' length (and its shared prefix), output tokens, sessions and arrivals.
     */
    public String describe() {
        StringBuilder text = new StringBuilder();
        String own = workload.promptTokens().spec();
        text.append(workload.sharedPrefixTokens() > 0
                ? "%d shared + %s own prompt tokens".formatted(workload.sharedPrefixTokens(), own)
                : own + " prompt tokens");
        text.append(" + %d output tokens per request".formatted(outputTokens));
        if (workload.turns() > 1) {
            text.append(", sessions of %d turns adding %d tokens each".formatted(workload.turns(),
                    workload.turnTokens()));
        }
        if (workload.arrival() == Workload.Arrival.POISSON) {
            text.append(", Poisson arrivals, at most %d in flight".formatted(workload.maxInFlight()));
        }
        return text.toString();
    }

    /** Whether every request of every level failed: nothing was measured. */
    public boolean allFailed() {
        return levels.stream().allMatch(l -> l.errors() == l.requests());
    }
}
