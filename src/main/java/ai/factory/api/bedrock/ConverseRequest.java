package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.JsonBodies;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.chat.ChatMessage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The body of Bedrock's Converse and ConverseStream, read field by field: {@code messages} of text content
 * blocks, {@code system} blocks, {@code inferenceConfig} and the sampling fields this factory understands in
 * {@code additionalModelRequestFields}. Tools, guardrails and non-text content are refused with a message.
 *
 * @param maxTokens the most tokens to generate; 0 means "until the context is full"
 */
record ConverseRequest(List<ChatMessage> messages, SamplingParams sampling, int maxTokens, List<String> stop) {
    /** The {@code additionalModelRequestFields} passed on to sampling, named as llama.cpp and vLLM name them. */
    static final Set<String> ADDITIONAL_FIELDS = Set.of("top_k", "min_p", "repetition_penalty", "presence_penalty",
            "frequency_penalty", "seed");

    ConverseRequest {
        messages = List.copyOf(messages);
        requireNonNull(sampling, "sampling is null");
        stop = List.copyOf(stop);
    }

    static ConverseRequest parse(JsonNode body) {
        for (String unsupported : List.of("toolConfig", "guardrailConfig")) {
            JsonNode v = body.get(unsupported);
            if (v != null && !v.isNull()) {
                throw FactoryException.invalidParam(unsupported, "'" + unsupported + "' is not supported yet");
            }
        }
        List<ChatMessage> messages = new ArrayList<>();
        JsonNode system = body.get("system");
        if (system != null && !system.isNull()) {
            if (!system.isArray()) {
                throw FactoryException.invalidParam("system", "'system' must be an array of content blocks");
            }
            String text = text(system, "system");
            if (!text.isEmpty()) {
                messages.add(ChatMessage.system(text));
            }
        }
        JsonNode list = body.get("messages");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw FactoryException.invalidParam("messages",
                    "'messages' must be a non-empty array of {role, content}");
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = "messages[" + i + "]";
            String role = m.path("role").asText("");
            if (!"user".equals(role) && !"assistant".equals(role)) {
                throw FactoryException.invalidParam("messages", where + ".role must be 'user' or 'assistant'");
            }
            JsonNode content = m.get("content");
            if (content == null || !content.isArray()) {
                throw FactoryException.invalidParam("messages", where + ".content must be an array of content blocks");
            }
            messages.add(new ChatMessage(role, text(content, where + ".content"), null));
        }

        JsonNode config = object(body, "inferenceConfig");
        int maxTokens = 0;
        if (config.has("maxTokens") && !config.get("maxTokens").isNull()) {
            maxTokens = JsonBodies.optionalInt(config, "maxTokens").orElseThrow();
            if (maxTokens < 1) {
                throw FactoryException.invalidParam("inferenceConfig.maxTokens",
                        "inferenceConfig.maxTokens must be at least 1");
            }
        }
        List<String> stop = new ArrayList<>();
        JsonNode stops = config.get("stopSequences");
        if (stops != null && !stops.isNull()) {
            if (!stops.isArray()) {
                throw FactoryException.invalidParam("inferenceConfig.stopSequences",
                        "inferenceConfig.stopSequences must be an array of strings");
            }
            for (JsonNode s : stops) {
                if (!s.isTextual()) {
                    throw FactoryException.invalidParam("inferenceConfig.stopSequences",
                            "every inferenceConfig.stopSequences entry must be a string");
                }
                stop.add(s.asText());
            }
        }
        JsonNode extra = object(body, "additionalModelRequestFields");
        extra.fieldNames().forEachRemaining(name -> {
            if (!ADDITIONAL_FIELDS.contains(name)) {
                throw FactoryException.invalidParam("additionalModelRequestFields", "additionalModelRequestFields."
                        + name + " is not understood; these are: " + String.join(", ", new TreeSet<>(ADDITIONAL_FIELDS)));
            }
        });
        SamplingParams sampling = new SamplingParams(
                number(config, "temperature", 1.0),
                number(config, "topP", 1.0),
                JsonBodies.optionalInt(extra, "top_k").orElse(0),
                number(extra, "min_p", 0.0),
                number(extra, "repetition_penalty", 1.0),
                number(extra, "presence_penalty", 0.0),
                number(extra, "frequency_penalty", 0.0),
                64,
                extra.hasNonNull("seed") ? seed(extra.get("seed")) : null);
        return new ConverseRequest(messages, sampling, maxTokens, stop);
    }

    /** The text of a list of content blocks; cache points are hints without content, other kinds are refused. */
    private static String text(JsonNode blocks, String where) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < blocks.size(); i++) {
            JsonNode block = blocks.get(i);
            if (block.has("cachePoint")) {
                continue;
            }
            if (!block.isObject() || !block.path("text").isTextual()) {
                String kind = block.isObject() && block.fieldNames().hasNext() ? block.fieldNames().next() : "?";
                throw FactoryException.invalidParam("messages", where + "[" + i + "] is a '" + kind
                        + "' block; only text content blocks are supported");
            }
            if (!text.isEmpty() && "system".equals(where)) {
                text.append('\n');
            }
            text.append(block.path("text").asText());
        }
        return text.toString();
    }

    private static JsonNode object(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!v.isObject()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be an object");
        }
        return v;
    }

    private static float number(JsonNode node, String field, double defaultValue) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return (float) defaultValue;
        }
        if (!v.isNumber()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be a number, not " + JsonBodies.kind(v));
        }
        return v.floatValue();
    }

    private static Long seed(JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw FactoryException.invalidParam("seed", "additionalModelRequestFields.seed must be an integer");
        }
        return v.asLong();
    }
}
