package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.util.OptionalLong;

/**
 * What the engines may use: CPU threads ({@code embeddingThreads} for each embedding model, {@code generationThreads}
 * for each replica of a text-generation model whose deployment names none, {@code trainingThreads} for a fine-tuning
 * job; 0 means one per available core) and host memory ({@code memoryLimit}: what deployments and fine-tuning jobs
 * may hold together, empty for whatever the machine has free). Fine-tuning runs at nice value
 * {@code trainingNiceness}, below serving.
 */
public record EnginesConfig(int embeddingThreads, int generationThreads, int trainingThreads, int trainingNiceness,
                            OptionalLong memoryLimit) {
    public EnginesConfig(int embeddingThreads, int generationThreads) {
        this(embeddingThreads, generationThreads, 0, 10, OptionalLong.empty());
    }

    public EnginesConfig {
        requireNonNull(memoryLimit, "memoryLimit is null");
        if (memoryLimit.isPresent() && memoryLimit.getAsLong() <= 0) {
            throw new IllegalArgumentException("memory.limit must be a positive size, such as 16GiB");
        }
        if (trainingThreads < 0) {
            throw new IllegalArgumentException("training.threads must not be negative");
        }
        if (trainingNiceness < 0 || trainingNiceness > 19) {
            throw new IllegalArgumentException("training.niceness must be between 0 and 19");
        }
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

    public int effectiveTrainingThreads() {
        return orAllCores(trainingThreads);
    }

    private static int orAllCores(int threads) {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
