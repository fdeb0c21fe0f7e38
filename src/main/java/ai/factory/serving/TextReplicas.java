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

    /**
     * Calls routed to a replica and not handed to it yet (their quotas are being checked), by replica: they count as
     * busy there ({@link ReplicaRouter#busy}), so that calls that arrive at the same moment spread over the replicas
     * instead of all taking the one that was least busy before any of them was sent.
     */
    private static final java.util.concurrent.ConcurrentHashMap<TextEngine, Integer> ROUTED =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** One choice at a time, so that each sees the ones before it. */
    private static final Object CHOOSING = new Object();

    /** Calls routed to {@code replica} that it has not been given yet. */
    static int routed(TextEngine replica) {
        return ROUTED.getOrDefault(replica, 0);
    }

    /** A replica chosen for a call: it counts as busy with it until the call is handed to it (close). */
    public static final class Routed implements AutoCloseable {
        private final TextEngine engine;
        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        private Routed(TextEngine engine, boolean counted) {
            this.engine = engine;
            closed.set(!counted);
        }

        public TextEngine engine() {
            return engine;
        }

        /** The call was handed to the replica (which counts it itself from now on), or given up. */
        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                ROUTED.computeIfPresent(engine, (e, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    /**
     * The replica for {@code prompt} ({@link #forPrompt}), counted busy with it until the handle is closed. What each
     * replica holds of the prompt is looked up first; only the comparison of their loads and the count are made one
     * choice at a time.
     */
    public Routed route(int[] prompt) {
        requireNonNull(prompt, "prompt is null");
        if (replicas.size() == 1) {
            return new Routed(replicas.getFirst(), false);
        }
        int[] held = held(prompt);
        synchronized (CHOOSING) {
            TextEngine chosen = choose(held);
            ROUTED.merge(chosen, 1, Integer::sum);
            return new Routed(chosen, true);
        }
    }

    /** The replica with the fewest running and waiting requests (the first among equals). */
    public TextEngine leastBusy() {
        return replicas.stream().min(Comparator.comparingInt(ReplicaRouter::busy)).orElseThrow();
    }

    /** The replica for {@code prompt}, tokenized by any of them. */
    public TextEngine forPrompt(int[] prompt) {
        requireNonNull(prompt, "prompt is null");
        if (replicas.size() == 1) {
            return replicas.getFirst();
        }
        return choose(held(prompt));
    }

    /** How much of {@code prompt} each replica holds, in order. */
    private int[] held(int[] prompt) {
        int[] held = new int[replicas.size()];
        for (int i = 0; i < held.length; i++) {
            held[i] = replicas.get(i).cachedPrefix(prompt);
        }
        return held;
    }

    /** The choice of {@link #forPrompt}, given what each replica holds of the prompt ({@code held}, in order). */
    private TextEngine choose(int[] held) {
        TextEngine least = leastBusy();
        int leastHeld = held[replicas.indexOf(least)];
        TextEngine holder = least;
        int longest = leastHeld;
        for (int i = 0; i < held.length; i++) {
            if (held[i] > longest) {
                holder = replicas.get(i);
                longest = held[i];
            }
        }
        if (holder == least || longest - leastHeld < MIN_AFFINITY_TOKENS) {
            return least;
        }
        boolean holderHasRoom = ReplicaRouter.busy(holder) < holder.load().slots();
        boolean anyHasRoom = ReplicaRouter.busy(least) < least.load().slots();
        boolean queueNoLonger = holder.load().waiting() <= least.load().waiting();
        return holderHasRoom || (!anyHasRoom && queueNoLonger) ? holder : least;
    }
}
