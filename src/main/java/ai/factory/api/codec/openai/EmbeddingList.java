package ai.factory.api.codec.openai;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** OpenAI's answer to {@code POST /v1/embeddings}: {@code {"object": "list", "data", "model", "usage"}}. */
public record EmbeddingList(String object, List<Embedding> data, String model, Usage usage) {
    public EmbeddingList {
        requireNonNull(object, "object is null");
        data = List.copyOf(requireNonNull(data, "data is null"));
        requireNonNull(model, "model is null");
        requireNonNull(usage, "usage is null");
    }

    public static EmbeddingList of(List<Embedding> data, String model, int promptTokens) {
        return new EmbeddingList("list", data, model, new Usage(promptTokens, promptTokens));
    }

    /**
     * One input's vector.
     *
     * @param embedding the floats as an array, or their little-endian bytes as base64 text
     */
    public record Embedding(String object, int index, Object embedding) {
        public Embedding {
            requireNonNull(embedding, "embedding is null");
        }

        public static Embedding of(int index, Object embedding) {
            return new Embedding("embedding", index, embedding);
        }
    }

    public record Usage(@JsonProperty("prompt_tokens") int promptTokens,
                        @JsonProperty("total_tokens") int totalTokens) {}
}
