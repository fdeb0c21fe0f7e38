package ai.factory.config;

/** Embedding engines. {@code threads} 0 means one per available core. */
public record EmbeddingsConfig(int threads) {
    public EmbeddingsConfig {
        if (threads < 0) {
            throw new IllegalArgumentException("embeddings.threads must not be negative");
        }
    }

    public int effectiveThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
