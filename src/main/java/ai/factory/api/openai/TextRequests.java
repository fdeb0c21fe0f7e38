package ai.factory.api.openai;

import ai.factory.FactoryException;
import ai.factory.api.JsonBodies;
import ai.factory.engine.SamplingParams;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The request fields chat completions and completions share: sampling, stop strings, limits. */
final class TextRequests {
    private TextRequests() {}

    static SamplingParams sampling(JsonNode body) {
        return new SamplingParams(
                number(body, "temperature").orElse(1.0).floatValue(),
                number(body, "top_p").orElse(1.0).floatValue(),
                JsonBodies.optionalInt(body, "top_k").orElse(0),
                number(body, "min_p").orElse(0.0).floatValue(),
                number(body, "repetition_penalty").orElse(1.0).floatValue(),
                number(body, "presence_penalty").orElse(0.0).floatValue(),
                number(body, "frequency_penalty").orElse(0.0).floatValue(),
                64,
                optionalLong(body, "seed"));
    }

    static List<String> stop(JsonNode body) {
        JsonNode stop = body.get("stop");
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        if (!stop.isArray()) {
            throw FactoryException.invalidParam("stop", "'stop' must be a string or an array of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode s : stop) {
            if (!s.isTextual()) {
                throw FactoryException.invalidParam("stop", "every 'stop' entry must be a string");
            }
            out.add(s.asText());
        }
        return out;
    }

    /** {@code n} must be 1: one choice per request is what the engine schedules. */
    static void requireSingleChoice(JsonNode body) {
        int n = JsonBodies.optionalInt(body, "n").orElse(1);
        if (n != 1) {
            throw FactoryException.invalidParam("n", "'n' must be 1; send separate requests for more choices");
        }
    }

    static int maxTokens(JsonNode body, int defaultValue, String... names) {
        for (String name : names) {
            Optional<Integer> v = JsonBodies.optionalInt(body, name);
            if (v.isPresent()) {
                if (v.get() < 1) {
                    throw FactoryException.invalidParam(name, "'" + name + "' must be at least 1");
                }
                return v.get();
            }
        }
        return defaultValue;
    }

    static boolean flag(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be true or false");
        }
        return v.asBoolean();
    }

    static Optional<Double> number(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be a number, not " + JsonBodies.kind(v));
        }
        return Optional.of(v.asDouble());
    }

    private static Long optionalLong(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be an integer");
        }
        return v.asLong();
    }
}
