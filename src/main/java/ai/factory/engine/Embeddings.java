package ai.factory.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The result of one {@link EmbeddingEngine#embed} call.
 *
 * @param vectors one vector per input, in input order
 * @param promptTokens tokens the inputs used, special tokens included, for usage accounting
 */
public record Embeddings(List<float[]> vectors, int promptTokens) {
    public Embeddings {
        vectors = List.copyOf(requireNonNull(vectors, "vectors is null"));
        if (promptTokens < 0) {
            throw new IllegalArgumentException("promptTokens is negative: " + promptTokens);
        }
    }
}
