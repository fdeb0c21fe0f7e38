package ai.factory.api.codec.bedrock;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;

/** Meta Llama's InvokeModel body on Bedrock, and its answer (whole, or one streamed chunk of it). */
public final class LlamaBody {
    private LlamaBody() {}

    /** The request: a prompt in the model's chat format, and Meta's sampling fields. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Request(String prompt, Double temperature, Double topP, Integer maxGenLen, JsonNode images) {}

    /**
     * The answer, or a streamed chunk of it: the chunk that starts the stream carries the prompt's token count, the
     * last one the stop reason and Bedrock's invocation metrics.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Response(String generation, @Nullable Integer promptTokenCount, int generationTokenCount,
                           @Nullable String stopReason,
                           @JsonInclude(JsonInclude.Include.NON_NULL)
                           @JsonProperty("amazon-bedrock-invocationMetrics")
                           @Nullable InvocationMetrics invocationMetrics) {}

    public record InvocationMetrics(int inputTokenCount, int outputTokenCount, long invocationLatency) {}
}
