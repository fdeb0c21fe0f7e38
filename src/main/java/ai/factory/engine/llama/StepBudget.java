package ai.factory.engine.llama;

/**
 * How many prompt tokens one engine step takes besides the generating sequences' own tokens, so that a long prompt
 * never freezes the streams already running: every generating sequence gets its token in every step, and prompts
 * fill the rest of the step's budget in chunks.
 *
 * <p>A fixed budget ({@code stepTokens > 0}) gives prompts what the generating sequences leave of it (at least one
 * token). The automatic budget measures steps as they run: the time of a step without prompt tokens, and what each
 * prompt token adds to a step. It then takes as many prompt tokens as keep a step within {@code cost} times a step
 * without them, at least {@link #MIN_CHUNK}. So a GPU, where a prompt token costs little next to a step, takes large
 * chunks, and a small CPU takes small ones. With nobody generating, prompts fill whole batches: nobody waits on them.
 *
 * <p>Measurements are exponentially weighted, so the budget follows the load (how many sequences generate, how long
 * their contexts are) without jumping at one odd step. Only the engine thread uses it.
 */
final class StepBudget {
    /** The prompt chunk before there is anything measured. */
    static final int FIRST_CHUNK = 64;
    /** The smallest automatic prompt chunk: below it, steps cost mostly their fixed part and prompts crawl. */
    static final int MIN_CHUNK = 16;
    private static final double WEIGHT = 0.2;

    private final int stepTokens;
    private final double cost;
    private double decodeNanos = Double.NaN;
    private double nanosPerPromptToken = Double.NaN;

    /**
     * @param stepTokens the fixed budget, or {@link LlamaEngineOptions#AUTO_STEP_TOKENS} to measure
     * @param cost with the automatic budget, how many times a step without prompt tokens a step may take
     */
    StepBudget(int stepTokens, double cost) {
        if (stepTokens < 0) {
            throw new IllegalArgumentException("stepTokens must be at least 0: " + stepTokens);
        }
        if (!(cost > 1)) {
            throw new IllegalArgumentException("cost must be more than 1: " + cost);
        }
        this.stepTokens = stepTokens;
        this.cost = cost;
    }

    /** The prompt tokens the next step may take, with {@code generating} sequences' tokens and {@code room} left. */
    int promptTokens(int generating, int room) {
        if (generating == 0) {
            return room;
        }
        int chunk;
        if (stepTokens > 0) {
            chunk = Math.max(1, stepTokens - generating);
        } else if (Double.isNaN(decodeNanos) || Double.isNaN(nanosPerPromptToken)) {
            chunk = FIRST_CHUNK;
        } else {
            double affordable = (cost - 1) * decodeNanos / Math.max(nanosPerPromptToken, 1);
            chunk = (int) Math.max(MIN_CHUNK, Math.min(affordable, Integer.MAX_VALUE));
        }
        return Math.min(chunk, room);
    }

    /** A step that decoded {@code generating} sequences' tokens and {@code prompt} prompt tokens in {@code nanos}. */
    void record(int generating, int prompt, long nanos) {
        if (prompt == 0) {
            if (generating > 0) {
                decodeNanos = average(decodeNanos, nanos);
            }
        } else if (generating == 0) {
            nanosPerPromptToken = average(nanosPerPromptToken, (double) nanos / prompt);
        } else if (!Double.isNaN(decodeNanos)) {
            nanosPerPromptToken = average(nanosPerPromptToken, Math.max(nanos - decodeNanos, 0) / prompt);
        }
    }

    /** The measured time of a step without prompt tokens, NaN before the first. */
    double decodeNanos() {
        return decodeNanos;
    }

    /** The measured time a prompt token adds to a step, NaN before the first. */
    double nanosPerPromptToken() {
        return nanosPerPromptToken;
    }

    private static double average(double before, double sample) {
        return Double.isNaN(before) ? sample : before + WEIGHT * (sample - before);
    }
}
