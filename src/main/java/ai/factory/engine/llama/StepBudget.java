package ai.factory.engine.llama;

import java.util.Arrays;

/**
 * How many prompt tokens one engine step takes besides the generating sequences' own tokens, so that a long prompt
 * never freezes the streams already running: every generating sequence gets its token in every step, and prompts
 * fill the rest of the step's budget in chunks.
 *
 * <p>A fixed budget ({@code stepTokens > 0}) gives prompts what the generating sequences leave of it (at least one
 * token). The automatic budget measures steps as they run: how long a step without prompt tokens takes for each
 * number of generating sequences, and what a prompt token adds to a step. It then takes as many prompt tokens as keep
 * a step within {@code cost} times a step without them, at least {@link #MIN_CHUNK}. So a GPU, where a prompt token
 * costs little next to a step, takes large chunks, and a small CPU takes small ones. With nobody generating, prompts
 * fill whole batches: nobody waits on them.
 *
 * <p>What a prompt token adds is measured in steps that mix both (the step's time less that of a step without prompt
 * tokens for as many generating sequences), but never taken as less than a prompt token costs in a step of prompts
 * alone, where llama.cpp computes them in the largest, cheapest batches: a mixed step that happened to be quick
 * (another process let go of the cores) must not make the next chunk a whole batch. Measurements are exponentially
 * weighted, so the budget follows the load (the contexts grow, the machine gets busier) without jumping at one odd
 * step.
 *
 * <p>Two rules keep short prompts from costing more than they save (automatic budget only):
 * <ul>
 * <li><b>Whole when short.</b> A prompt not yet begun that costs at most {@link #WHOLE_COST} steps without it is
 *     taken whole: the generating streams wait that long once, instead of running at a quarter of their speed for as many
 *     steps, in which the prompt is computed in small batches that use the CPU's matrix kernels less well. Longer
 *     prompts (W2's 1,024 tokens) are chunked as before.
 * <li><b>Wait for the streams that are about to end.</b> When every generating sequence ends within
 *     {@link #WHOLE_COST} steps (by its {@code max_tokens}, or its context) and the wait costs no more than computing
 *     the waiting prompts, the prompts wait: the streams end, and the prompts are then computed together, alone, in
 *     large batches, and their sequences generate in the same steps from then on. Without this, requests that arrive
 *     a few steps apart stay apart for ever: each time one group ends, its successors' prompts are computed beside
 *     the other group's last tokens, a stall for that group each time. The bound is the whole-prompt rule's, so a
 *     short prompt waits at most as long as taking it whole would stall the others (8 steps, the bound before, let
 *     chats that drifted 9 to 16 steps apart stay apart: W4 in docs/benchmarks.md).
 * </ul>
 * Only the engine thread uses it.
 */
final class StepBudget {
    /** The prompt chunk before there is anything measured. */
    static final int FIRST_CHUNK = 64;
    /** The smallest automatic prompt chunk: below it, steps cost mostly their fixed part and prompts crawl. */
    static final int MIN_CHUNK = 32;
    /**
     * A prompt that costs at most this many steps without prompt tokens is taken whole; prompts wait for generating
     * sequences that all end within this many steps.
     */
    static final int WHOLE_COST = 16;
    private static final double WEIGHT = 0.2;

    private final int stepTokens;
    private final double cost;
    /** Nanoseconds of a step without prompt tokens, by how many sequences generate (index 0 unused); NaN: none yet. */
    private double[] decodeNanos = new double[0];
    /** Nanoseconds a prompt token costs in a step of prompts alone, and what one adds to a mixed step. */
    private double promptAloneNanos = Double.NaN;
    private double promptMixedNanos = Double.NaN;

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

    /**
     * The prompt tokens the next step may take, with {@code generating} sequences' tokens and {@code room} left, when
     * no prompt could be taken whole and no stream ends soon.
     */
    int promptTokens(int generating, int room) {
        return promptTokens(generating, room, new Waiting(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));
    }

    /**
     * What the prompts of a step could take: the fewest tokens any prompt not yet begun has (a long prompt's last
     * chunk is not taken whole: the streams beside it would wait as long as it), all prompts' tokens left, and the
     * most steps any generating sequence may still take.
     */
    record Waiting(int shortestPrompt, long promptTokens, int stepsToEnd) {}

    /**
     * The prompt tokens the next step may take, with {@code generating} sequences' tokens and {@code room} left, and
     * the prompts and streams as {@code waiting} says.
     */
    int promptTokens(int generating, int room, Waiting waiting) {
        if (generating == 0) {
            return room;
        }
        int chunk;
        double decode = decodeNanos(generating);
        double perToken = promptNanosPerToken();
        if (stepTokens > 0) {
            chunk = Math.max(1, stepTokens - generating);
        } else if (Double.isNaN(decode) || Double.isNaN(perToken)) {
            chunk = FIRST_CHUNK;
        } else {
            perToken = Math.max(perToken, 1);
            if (waiting.stepsToEnd() <= WHOLE_COST && waiting.stepsToEnd() * decode <= waiting.promptTokens() * perToken) {
                return 0;
            }
            double affordable = (cost - 1) * decode / perToken;
            chunk = (int) Math.max(MIN_CHUNK, Math.min(affordable, Integer.MAX_VALUE));
            if (waiting.shortestPrompt() > chunk && waiting.shortestPrompt() * perToken <= WHOLE_COST * decode) {
                chunk = waiting.shortestPrompt();
            }
        }
        return Math.min(chunk, room);
    }

    /** A step that decoded {@code generating} sequences' tokens and {@code prompt} prompt tokens in {@code nanos}. */
    void record(int generating, int prompt, long nanos) {
        if (prompt == 0) {
            if (generating > 0) {
                if (generating >= decodeNanos.length) {
                    int from = decodeNanos.length;
                    decodeNanos = Arrays.copyOf(decodeNanos, generating + 1);
                    Arrays.fill(decodeNanos, from, decodeNanos.length, Double.NaN);
                }
                decodeNanos[generating] = average(decodeNanos[generating], nanos);
            }
        } else if (generating == 0) {
            promptAloneNanos = average(promptAloneNanos, (double) nanos / prompt);
        } else {
            double decode = decodeNanos(generating);
            if (!Double.isNaN(decode)) {
                promptMixedNanos = average(promptMixedNanos, Math.max(nanos - decode, 0) / prompt);
            }
        }
    }

    /**
     * The time of a step without prompt tokens for {@code generating} sequences: as measured for that many, else for
     * the nearest count measured; NaN before any.
     */
    double decodeNanos(int generating) {
        for (int distance = 0; distance < decodeNanos.length + generating; distance++) {
            double below = measured(generating - distance);
            if (!Double.isNaN(below)) {
                return below;
            }
            double above = measured(generating + distance);
            if (!Double.isNaN(above)) {
                return above;
            }
        }
        return Double.NaN;
    }

    /** The step time measured for {@code count} generating sequences, NaN when none was. */
    private double measured(int count) {
        return count >= 1 && count < decodeNanos.length ? decodeNanos[count] : Double.NaN;
    }

    /** What a prompt token adds to a step: the mixed steps' measure, but no less than in a step of prompts alone. */
    double promptNanosPerToken() {
        if (Double.isNaN(promptMixedNanos)) {
            return promptAloneNanos;
        }
        return Double.isNaN(promptAloneNanos) ? promptMixedNanos : Math.max(promptMixedNanos, promptAloneNanos);
    }

    private static double average(double before, double sample) {
        return Double.isNaN(before) ? sample : before + WEIGHT * (sample - before);
    }
}
