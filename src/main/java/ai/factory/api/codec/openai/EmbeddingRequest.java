package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.api.codec.WireJson;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI's {@code POST /v1/embeddings} body.
 *
 * @param input a string or an array of strings (token arrays are refused), so a tree read by {@link #inputs()}
 * @param encodingFormat {@code float} (default) or {@code base64}
 * @param dimensions if given, must be what the model returns
 */
public record EmbeddingRequest(String model, JsonNode input, @JsonProperty("encoding_format") String encodingFormat,
                               Integer dimensions) {
    /** OpenAI's own bound on inputs per request. */
    public static final int MAX_INPUTS = 2048;

    public EmbeddingRequest {
        if (model == null) {
            throw FactoryException.invalidParam("model", "'model' is required");
        }
    }

    /** Whether the vectors are asked for as base64 of little-endian floats. */
    public boolean base64() {
        return switch (encodingFormat == null ? "float" : encodingFormat) {
            case "float" -> false;
            case "base64" -> true;
            default -> throw FactoryException.invalidParam("encoding_format",
                    "'encoding_format' must be 'float' or 'base64'");
        };
    }

    /** The texts to embed, in order. */
    public List<String> inputs() {
        if (input == null || input.isNull()) {
            throw FactoryException.invalidParam("input", "'input' is required: a string or an array of strings");
        }
        if (input.isTextual()) {
            return List.of(input.asText());
        }
        if (!input.isArray()) {
            throw FactoryException.invalidParam("input", "'input' must be a string or an array of strings, not "
                    + WireJson.kind(input));
        }
        if (input.isEmpty()) {
            throw FactoryException.invalidParam("input", "'input' is an empty array; send at least one string");
        }
        if (input.size() > MAX_INPUTS) {
            throw FactoryException.invalidParam("input", "'input' has " + input.size() + " items; at most "
                    + MAX_INPUTS + " are allowed per request");
        }
        List<String> out = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (item.isNumber() || item.isArray()) {
                throw FactoryException.invalidParam("input", "input[" + i + "] is " + WireJson.kind(item)
                        + "; token arrays are not supported, send text");
            }
            if (!item.isTextual()) {
                throw FactoryException.invalidParam("input", "input[" + i + "] must be a string, not "
                        + WireJson.kind(item));
            }
            out.add(item.asText());
        }
        return out;
    }
}
