package ai.factory.api.codec.bedrock;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.jspecify.annotations.Nullable;
import java.util.List;

/** Amazon Titan Text Embeddings V2's InvokeModel body on Bedrock, and its answer. */
public final class TitanEmbeddingsBody {
    private TitanEmbeddingsBody() {}

    /**
     * The request.
     *
     * @param inputText the text to embed
     * @param dimensions the vector length asked for (Titan's own are 256, 512 and 1024)
     * @param normalize whether the vector is scaled to unit length (Titan's default: yes)
     * @param embeddingTypes {@code float}, {@code binary} or both (default {@code float})
     */
    public record Request(String inputText, Integer dimensions, Boolean normalize, List<String> embeddingTypes) {}

    /**
     * The answer: the vector as floats always, the input's token count, and the vector in each type asked for
     * ({@code float} when none was).
     */
    public record Response(float[] embedding, int inputTextTokenCount, ByType embeddingsByType) {}

    /**
     * The vector by type.
     *
     * @param floats the floats, as {@code embedding}
     * @param binary one bit per dimension, as a 0 or a 1: 1 where the float is positive
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ByType(@JsonProperty("float") float @Nullable [] floats, int @Nullable [] binary) {}
}
