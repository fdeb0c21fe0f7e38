package ai.factory.engine.llama;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The token stream of a dataset cut into training windows: every example's tokens end to end, read in windows of
 * a fixed length, each with its labels (the token that follows each position). The stream wraps around at its
 * end, so the last window is full and a dataset shorter than one window still trains; the first token of the
 * stream then follows its last, which is what a model sees between two packed examples anyway.
 *
 * <p>For training, the examples are shuffled before they are joined, anew each epoch ({@link #shuffled}): with a
 * fixed order a model learns which example follows which and leans on the one before, which it never has when it
 * answers a prompt of its own.
 */
final class TrainingWindows {
    private final int[] stream;
    private final int length;
    private final int count;

    private TrainingWindows(int[] stream, int length) {
        if (stream.length < 2) {
            throw new IllegalArgumentException("a training stream needs at least 2 tokens, not " + stream.length);
        }
        if (length < 1) {
            throw new IllegalArgumentException("window length must be positive: " + length);
        }
        this.stream = stream.clone();
        this.length = length;
        this.count = (stream.length + length - 1) / length;
    }

    /** How many windows cover the stream. */
    int count() {
        return count;
    }

    int length() {
        return length;
    }

    int tokens() {
        return stream.length;
    }

    /** Window {@code index}'s tokens into {@code tokens} and its next tokens into {@code labels}. */
    void fill(int index, int[] tokens, int[] labels) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("window " + index + " of " + count);
        }
        int start = index * length;
        for (int i = 0; i < length; i++) {
            tokens[i] = stream[(start + i) % stream.length];
            labels[i] = stream[(start + i + 1) % stream.length];
        }
    }

    /** The examples joined in the order given. */
    static TrainingWindows joined(List<int[]> examples, int length) {
        int total = 0;
        for (int[] example : examples) {
            total += example.length;
        }
        int[] stream = new int[total];
        int at = 0;
        for (int[] example : examples) {
            System.arraycopy(example, 0, stream, at, example.length);
            at += example.length;
        }
        return new TrainingWindows(stream, length);
    }

    /**
     * The examples joined in the order of {@code epoch} (1-based): a permutation fixed by the seed and the epoch, so a
     * run resumed from a checkpoint sees the windows it had left as it would have.
     */
    static TrainingWindows shuffled(List<int[]> examples, int length, long seed, int epoch) {
        List<int[]> order = new ArrayList<>(examples);
        Collections.shuffle(order, new Random(seed * 31 + epoch));
        return joined(order, length);
    }
}
