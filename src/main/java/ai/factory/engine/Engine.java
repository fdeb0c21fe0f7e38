package ai.factory.engine;

/** A loaded model that serves requests: an embedding model or a text-generation model. */
public sealed interface Engine extends AutoCloseable permits EmbeddingEngine, TextEngine {
    /** Frees the model and everything native it holds. Closing twice is harmless. */
    @Override
    void close();
}
