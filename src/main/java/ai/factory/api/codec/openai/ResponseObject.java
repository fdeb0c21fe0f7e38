package ai.factory.api.codec.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * OpenAI's {@code response} object (Responses API): the answer of {@code POST /v1/responses}, and what its stream's
 * lifecycle events carry. Every field OpenAI's SDKs require is present, null where the factory has no value.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ResponseObject(
        String id,
        String object,
        long createdAt,
        String status,
        @Nullable JsonNode error,
        @Nullable IncompleteDetails incompleteDetails,
        String instructions,
        Integer maxOutputTokens,
        String model,
        List<OutputItem> output,
        boolean parallelToolCalls,
        String previousResponseId,
        boolean store,
        double temperature,
        double topP,
        Text text,
        JsonNode toolChoice,
        List<ResponseRequest.Tool> tools,
        String truncation,
        @Nullable Usage usage,
        JsonNode metadata,
        String user) {

    public record IncompleteDetails(String reason) {}

    public record Text(ResponseRequest.Format format) {}

    /**
     * An output item: a {@code message} (role and content parts) or a {@code function_call} (call id, name and
     * arguments); fields of the other kind are left out.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record OutputItem(String type, String id, String status, @Nullable String role,
                             @Nullable List<ContentPart> content,
                             @Nullable String callId, @Nullable String name, @Nullable String arguments) {
        static OutputItem message(String id, String status, List<ContentPart> content) {
            return new OutputItem("message", id, status, "assistant", content, null, null, null);
        }

        static OutputItem functionCall(String id, String status, String callId, String name, String arguments) {
            return new OutputItem("function_call", id, status, null, null, callId, name, arguments);
        }
    }

    /** An {@code output_text} part. */
    public record ContentPart(String type, String text, List<Object> annotations) {
        static ContentPart text(String text) {
            return new ContentPart("output_text", text, List.of());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Usage(int inputTokens, InputTokensDetails inputTokensDetails, int outputTokens,
                        OutputTokensDetails outputTokensDetails, int totalTokens) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record InputTokensDetails(int cachedTokens) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record OutputTokensDetails(int reasoningTokens) {}
}
