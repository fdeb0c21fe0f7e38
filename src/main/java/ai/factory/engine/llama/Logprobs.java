package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * Log-probabilities from one row of logits, read in place from llama.cpp's output buffer: a log-softmax
 * over the whole vocabulary (the model's distribution, before any sampler reshaped it) and the best
 * alternatives. Single-threaded: the engine keeps one and reuses its arrays.
 */
final class Logprobs {
    private final int[] topIds = new int[20];
    private final float[] topLogits = new float[20];
    private int topCount;
    private float logNormalizer;

    /** Scans a row; afterwards {@link #of}, {@link #topId} and {@link #topLogprob} answer for it. */
    void scan(MemorySegment logits, int vocabularySize, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabularySize; i++) {
            max = Math.max(max, logits.getAtIndex(JAVA_FLOAT, i));
        }
        double sum = 0;
        topCount = 0;
        for (int i = 0; i < vocabularySize; i++) {
            float logit = logits.getAtIndex(JAVA_FLOAT, i);
            sum += Math.exp(logit - max);
            if (top > 0 && (topCount < top || logit > topLogits[topCount - 1])) {
                insert(i, logit, top);
            }
        }
        logNormalizer = (float) (max + Math.log(sum));
    }

    /** The log-probability of a token in the last row scanned. */
    float of(MemorySegment logits, int token) {
        return Math.min(0f, logits.getAtIndex(JAVA_FLOAT, token) - logNormalizer);
    }

    int topCount() {
        return topCount;
    }

    /** The i-th most likely token, most likely first. */
    int topId(int i) {
        return topIds[i];
    }

    float topLogprob(int i) {
        return Math.min(0f, topLogits[i] - logNormalizer);
    }

    /** Keeps the {@code top} best in descending order; ties keep the lower token id first. */
    private void insert(int id, float logit, int top) {
        int at = Math.min(topCount, top - 1);
        while (at > 0 && topLogits[at - 1] < logit) {
            at--;
        }
        int moved = Math.min(topCount, top - 1) - at;
        System.arraycopy(topIds, at, topIds, at + 1, moved);
        System.arraycopy(topLogits, at, topLogits, at + 1, moved);
        topIds[at] = id;
        topLogits[at] = logit;
        topCount = Math.min(topCount + 1, top);
    }
}
