package ai.factory.api.codec.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * The body of OpenAI's {@code POST /v1/responses}. {@code input} is a string or a list of items (messages,
 * {@code function_call}s and their {@code function_call_output}s) and is read by {@link ResponsesCodec}.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ResponseRequest(
        String model,
        JsonNode input,
        String instructions,
        Integer maxOutputTokens,
        Double temperature,
        Double topP,
        List<Tool> tools,
        JsonNode toolChoice,
        Boolean parallelToolCalls,
        TextConfig text,
        Boolean stream,
        Boolean store,
        String previousResponseId,
        JsonNode metadata,
        String user,
        String serviceTier) {

    /** A function tool, flat as the Responses API writes it ({@code type}, {@code name}, {@code parameters}). */
    public record Tool(String type, String name, String description, JsonNode parameters, Boolean strict) {}

    public record TextConfig(Format format) {}

    /** {@code text}, {@code json_object}, or {@code json_schema} with its {@code name} and {@code schema}. */
    public record Format(String type, @Nullable String name, @Nullable String description, @Nullable JsonNode schema,
                         @Nullable Boolean strict) {}
}
