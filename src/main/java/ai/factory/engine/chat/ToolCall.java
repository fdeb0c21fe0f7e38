package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

/**
 * A call of a tool, made by the model: in a reply it produced, or in the history a client sends back.
 *
 * @param id the call's id, which the tool's result names (OpenAI's {@code tool_call_id}, Bedrock's
 *     {@code toolUseId})
 * @param name the tool's name
 * @param arguments the arguments as JSON text (an object)
 */
public record ToolCall(String id, String name, String arguments) {
    public ToolCall {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(arguments, "arguments is null");
    }
}
