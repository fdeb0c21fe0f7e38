package ai.factory.engine;

import java.util.List;

/**
 * A loaded embedding model. Implementations are thread-safe: any number of callers may embed at
 * once. Failures a caller should see are {@link ai.factory.FactoryException}s: an input the model
 * cannot take is {@code INVALID_REQUEST}, a call after {@link #close()} is {@code UNAVAILABLE}.
 */
public non-sealed interface EmbeddingEngine extends Engine {
    /** Length of every vector this engine returns. */
    int dimensions();

    /** The most tokens one input may have, special tokens included. */
    int maxInputTokens();

    /** Tokens this input would use, special tokens included. */
    int countTokens(String text);

    /** One unit-length vector per input, in input order. */
    Embeddings embed(List<String> inputs);

    /** Frees the model; waits for calls in flight to finish. Closing twice is harmless. */
    @Override
    void close();
}
