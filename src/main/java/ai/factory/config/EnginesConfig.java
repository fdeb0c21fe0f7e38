package ai.factory.config;

/**
 * CPU threads of the engines: {@code embeddingThreads} for each embedding model, {@code generationThreads} for each
 * replica of a text-generation model whose deployment names none. 0 means one per available core.
 */
public record EnginesConfig(int embeddingThreads, int generationThreads) {
    public EnginesConfig {
        if (embeddingThreads < 0) {
            throw new IllegalArgumentException("embeddings.threads must not be negative");
        }
        if (generationThreads < 0) {
            throw new IllegalArgumentException("generation.threads must not be negative");
        }
    }

    public int effectiveEmbeddingThreads() {
        return orAllCores(embeddingThreads);
    }

    public int effectiveGenerationThreads() {
        return orAllCores(generationThreads);
    }

    private static int orAllCores(int threads) {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
