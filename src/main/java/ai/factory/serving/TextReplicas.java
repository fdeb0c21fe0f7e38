package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.TextEngine;
import java.util.Comparator;
import java.util.List;

/**
 * The replicas of one deployment of a text model, all loaded from the same file (so any of them tokenizes a prompt
 * as the others would), and the choice of the one that serves a prompt.
 *
 * <p>A prompt goes to the replica that holds the longest beginning of it in its cache (a conversation's earlier
 * turns, a shared system prompt), when that is at least {@link #MIN_AFFINITY_TOKENS} tokens more than the least busy
 * replica holds (a system prompt that every replica holds is no reason to prefer one), and when that replica
 * has a free slot, or no replica has one and its queue is no longer than the least busy replica's: so a request never
 * waits longer for its cache than it would elsewhere. Otherwise, or with one replica, the least busy one serves it.
 */
public final class TextReplicas {
    /** Fewer tokens than this are quicker to compute again than to wait for. */
    static final int MIN_AFFINITY_TOKENS = 32;

    private final List<TextEngine> replicas;

    TextReplicas(List<TextEngine> replicas) {
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("no replicas");
        }
        this.replicas = List.copyOf(replicas);
    }

    /** The replica with the fewest running and waiting requests (the first among equals). */
    public TextEngine leastBusy() {
        return replicas.stream().min(Comparator.comparingInt(ReplicaRouter::busy)).orElseThrow();
    }

    /** The replica for {@code prompt}, tokenized by any of them. */
    public TextEngine forPrompt(int[] prompt) {
        requireNonNull(prompt, "prompt is null");
        TextEngine least = leastBusy();
        if (replicas.size() == 1) {
            return least;
        }
        TextEngine holder = least;
        int longest = least.cachedPrefix(prompt);
        for (TextEngine replica : replicas) {
            int held = replica.cachedPrefix(prompt);
            if (held > longest) {
                holder = replica;
                longest = held;
            }
        }
        if (holder == least || longest - least.cachedPrefix(prompt) < MIN_AFFINITY_TOKENS) {
            return least;
        }
        boolean holderHasRoom = ReplicaRouter.busy(holder) < holder.load().slots();
        boolean anyHasRoom = ReplicaRouter.busy(least) < least.load().slots();
        boolean queueNoLonger = holder.load().waiting() <= least.load().waiting();
        return holderHasRoom || (!anyHasRoom && queueNoLonger) ? holder : least;
    }
}
