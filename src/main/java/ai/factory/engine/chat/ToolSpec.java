package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.regex.Pattern;

/**
 * A function the model may call: what every API's tool definition comes down to (OpenAI's
 * {@code tools[].function}, Bedrock's {@code toolSpec}, the Responses API's function tools).
 *
 * @param name the function's name: letters, digits, underscores and dashes, at most 64 characters (as OpenAI
 *     and Bedrock both require)
 * @param description what it does, for the model; may be empty
 * @param parameters the JSON Schema of its arguments (an object schema); an empty object when it takes none
 */
public record ToolSpec(String name, String description, JsonNode parameters) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    public ToolSpec {
        requireNonNull(name, "name is null");
        description = description == null ? "" : description;
        parameters = parameters == null || parameters.isNull() ? JsonNodeFactory.instance.objectNode() : parameters;
        if (!NAME.matcher(name).matches()) {
            throw FactoryException.invalidParam("tools", "tool name '" + name
                    + "' must be 1 to 64 letters, digits, underscores or dashes");
        }
        if (!parameters.isObject()) {
            throw FactoryException.invalidParam("tools", "the parameters of tool '" + name + "' must be a JSON Schema object");
        }
    }
}
