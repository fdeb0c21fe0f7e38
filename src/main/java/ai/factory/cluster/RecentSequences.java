package ai.factory.cluster;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * What a replica on a worker was last given to compute, as the control plane saw it: the prompts of its recent
 * generations, each with the tokens generated after it. The worker's engine keeps such sequences in its KV cache
 * (each slot reuses its own previous tokens), so the longest of them that a new prompt begins with is what that
 * replica need not compute again: conversation affinity for replicas on workers, which report no cache of their own.
 * A recent view, not a promise, as {@link ai.factory.engine.TextEngine#cachedPrefix} is; bounded in count and length.
 */
final class RecentSequences {
    /** A sequence longer than this is kept cut at it: the context of a replica rarely is longer. */
    static final int MAX_TOKENS = 32_768;

    private final int capacity;
    private final Deque<Sequence> sequences = new ArrayDeque<>();

    /** @param capacity how many sequences to keep: about the replica's slots, a few more for those just ended */
    RecentSequences(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.capacity = capacity;
    }

    /** One generation: its prompt and what was generated after it so far. */
    final class Sequence {
        private int[] tokens;
        private int length;

        private Sequence(int[] prompt) {
            int n = Math.min(prompt.length, MAX_TOKENS);
            this.tokens = Arrays.copyOf(prompt, Math.max(16, n + 64));
            this.length = n;
        }

        /** A token generated after the prompt. */
        void append(int token) {
            synchronized (RecentSequences.this) {
                if (length >= MAX_TOKENS) {
                    return;
                }
                if (length == tokens.length) {
                    tokens = Arrays.copyOf(tokens, Math.min(MAX_TOKENS, tokens.length * 2));
                }
                tokens[length++] = token;
            }
        }
    }

    /** Remembers a generation's prompt, forgetting the oldest beyond the capacity. */
    synchronized Sequence start(int[] prompt) {
        Sequence s = new Sequence(prompt);
        sequences.addLast(s);
        while (sequences.size() > capacity) {
            sequences.removeFirst();
        }
        return s;
    }

    /** How many leading tokens of {@code prompt} one remembered sequence holds, the most of any. */
    synchronized int longestPrefix(int[] prompt) {
        int best = 0;
        for (Sequence s : sequences) {
            int n = Math.min(s.length, prompt.length);
            int i = Arrays.mismatch(s.tokens, 0, n, prompt, 0, n);
            best = Math.max(best, i < 0 ? n : i);
        }
        return best;
    }

    /** Forgets everything: the replica moved to another worker, whose cache holds none of it. */
    synchronized void clear() {
        sequences.clear();
    }
}
