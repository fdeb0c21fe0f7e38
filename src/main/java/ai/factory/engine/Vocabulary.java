package ai.factory.engine;

/**
 * A text model's tokenizer without its weights: it turns text into the model's tokens and back exactly as the model's
 * {@link TextEngine} does, and generates nothing. A control plane tokenizes with it for replicas that run on other
 * machines, so that a call costs one trip to a worker, not two. Thread-safe; the owner closes it once.
 */
public interface Vocabulary extends AutoCloseable {
    /** As {@link TextEngine#tokenize}. */
    int[] tokenize(String text, boolean addSpecial, boolean parseSpecial);

    /** As {@link TextEngine#detokenize}: INVALID_REQUEST for a token outside the vocabulary. */
    String detokenize(int[] tokens);

    @Override
    void close();
}
