package ai.factory.engine;

import java.util.List;

/**
 * A loaded text-generation model (one replica). Implementations are thread-safe: any number of callers may
 * tokenize and submit at once; generation itself is scheduled by the engine (e.g. continuous batching).
 * Failures a caller should see are {@link ai.factory.FactoryException}s.
 */
public non-sealed interface TextEngine extends Engine {
    /** What the loaded model is and what it accepts. */
    TextModelInfo info();

    /**
     * Tokens of a text.
     *
     * @param addSpecial add the model's BOS (and other automatic special tokens) as llama.cpp would
     * @param parseSpecial treat special-token text such as {@code <|eot_id|>} in {@code text} as those tokens
     *     (true for rendered chat templates, false for raw user text)
     */
    int[] tokenize(String text, boolean addSpecial, boolean parseSpecial);

    /** The text of a token sequence (special tokens rendered as text only where the model marks them printable). */
    String detokenize(int[] tokens);

    /**
     * Queues a generation. Returns at once; tokens arrive through the returned {@link Generation}.
     * Throws {@code INVALID_REQUEST} when the prompt plus at least one generated token can't fit in a
     * sequence's context, {@code RATE_LIMITED} when the waiting queue is full, {@code UNAVAILABLE} after close.
     */
    default Generation submit(GenerationRequest request) {
        return submitAll(List.of(request)).getFirst();
    }

    /**
     * Queues several generations that belong together (the choices of one request), all or none: when one of them
     * is refused (a bad prompt, a full queue) none is queued, so nothing half-started is left running. They run
     * concurrently, each in its own sequence, as slots allow. Throws as {@link #submit} does, and
     * {@code INVALID_REQUEST} on {@code n} when there are more than the queue can ever hold at once.
     *
     * @return the generations, in the order of {@code requests}
     */
    List<Generation> submitAll(List<GenerationRequest> requests);

    /**
     * Whether the replica takes calls now. A replica on another machine is not while it moves there (its worker went
     * away or is drained); routing then sends calls to the deployment's other replicas. A local engine always is.
     */
    default boolean available() {
        return true;
    }

    /**
     * Why it does not serve now, for the people who run it (a deployment then reports itself degraded); null while it
     * serves, which may include a moment when routing passes it by ({@link #available()}).
     */
    default @org.jspecify.annotations.Nullable String unavailableReason() {
        return available() ? null : "it does not take calls now";
    }

    /** Sequences generating now and requests waiting, for routing and metrics. */
    EngineLoad load();

    /**
     * How many leading tokens of {@code prompt} this replica holds in its cache (in any sequence), so that a call can
     * go to the replica that need not compute them again. A recent view, not a promise: by the time the prompt is
     * admitted the cells may be gone. 0 for an engine that keeps nothing.
     */
    default int cachedPrefix(int[] prompt) {
        return 0;
    }
}
