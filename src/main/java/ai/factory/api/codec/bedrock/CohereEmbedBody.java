package ai.factory.api.codec.bedrock;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/** Cohere Embed (v3)'s InvokeModel body on Bedrock, and its two answers. */
public final class CohereEmbedBody {
    private CohereEmbedBody() {}

    /**
     * The request.
     *
     * @param texts the texts to embed, in order
     * @param inputType what the texts are for: {@code search_document}, {@code search_query}, {@code classification}
     *     or {@code clustering}
     * @param truncate {@code NONE} (default), {@code START} or {@code END}
     * @param embeddingTypes the types wanted; when given, the answer is {@code embeddings_by_type}
     * @param images Cohere's image input, which the factory's text models do not take
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Request(List<String> texts, String inputType, String truncate, List<String> embeddingTypes,
                          JsonNode images) {}

    /** The answer when no {@code embedding_types} were asked for: one float vector per text. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Floats(List<float[]> embeddings, String id, String responseType, List<String> texts) {
        public Floats(List<float[]> embeddings, String id, List<String> texts) {
            this(embeddings, id, "embeddings_floats", texts);
        }
    }

    /** The answer when {@code embedding_types} were asked for: each type's vectors, one per text. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ByType(Vectors embeddings, String id, String responseType, List<String> texts) {
        public ByType(Vectors embeddings, String id, List<String> texts) {
            this(embeddings, id, "embeddings_by_type", texts);
        }
    }

    /**
     * The vectors by type, each list in text order.
     *
     * @param floats the float vectors
     * @param binary the signs packed eight dimensions to a byte (the first dimension in the highest bit, 1 where the
     *     float is positive), as signed values: the byte less 128
     * @param ubinary the same bytes, unsigned
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Vectors(@JsonProperty("float") @Nullable List<float[]> floats, @Nullable List<int[]> binary,
                          @Nullable List<int[]> ubinary) {}
}
