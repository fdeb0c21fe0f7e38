package ai.factory.api.codec.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * The body of OpenAI's {@code POST /v1/chat/completions}, as OpenAI documents it, plus the sampling fields
 * llama.cpp and vLLM add ({@code top_k}, {@code min_p}, {@code repetition_penalty}, {@code ignore_eos}). Fields whose
 * JSON type varies ({@code content}, {@code stop}, {@code tool_choice}) stay JSON and are read by
 * {@link ChatCodec}.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        Boolean stream,
        StreamOptions streamOptions,
        Double temperature,
        Double topP,
        Integer topK,
        Double minP,
        Double repetitionPenalty,
        Double presencePenalty,
        Double frequencyPenalty,
        Long seed,
        JsonNode stop,
        Integer maxTokens,
        Integer maxCompletionTokens,
        Integer n,
        Boolean logprobs,
        Integer topLogprobs,
        Boolean ignoreEos,
        Map<String, Double> logitBias,
        List<Tool> tools,
        JsonNode toolChoice,
        Boolean parallelToolCalls,
        ResponseFormat responseFormat,
        List<FunctionDefinition> functions,
        JsonNode functionCall,
        String serviceTier) {

    /** One message; {@code content} is a string, an array of parts, or null (an assistant turn that called tools). */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Message(String role, JsonNode content, String name, List<ToolCall> toolCalls, String toolCallId) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record StreamOptions(Boolean includeUsage) {}

    /** A tool: {@code type} is {@code function}. */
    public record Tool(String type, FunctionDefinition function) {}

    public record FunctionDefinition(String name, String description, JsonNode parameters, Boolean strict) {}

    /** A call in an assistant message of the history. */
    public record ToolCall(String id, String type, FunctionCall function) {}

    public record FunctionCall(String name, String arguments) {}

    /** {@code text}, {@code json_object}, or {@code json_schema} with its schema. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ResponseFormat(String type, JsonSchemaFormat jsonSchema) {}

    public record JsonSchemaFormat(String name, String description, JsonNode schema, Boolean strict) {}
}
