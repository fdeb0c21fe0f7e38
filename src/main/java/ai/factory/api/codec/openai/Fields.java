package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.engine.SamplingParams;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The request fields OpenAI's text APIs share: the model, sampling, stop strings, limits. */
final class Fields {
    /** What answers carry as {@code system_fingerprint}. */
    static final String SYSTEM_FINGERPRINT = "factory";

    private Fields() {}

    static String requiredString(String value, String field) {
        if (value == null) {
            throw FactoryException.invalidParam(field, "'" + field + "' is required");
        }
        return value;
    }

    /** {@code n} must be 1: one choice per request is what the engine schedules. */
    static void requireSingleChoice(Integer n) {
        if (n != null && n != 1) {
            throw FactoryException.invalidParam("n", "'n' must be 1; send separate requests for more choices");
        }
    }

    static SamplingParams sampling(Double temperature, Double topP, Integer topK, Double minP, Double repetitionPenalty,
                                   Double presencePenalty, Double frequencyPenalty, Long seed) {
        return new SamplingParams(
                temperature == null ? 1f : temperature.floatValue(),
                topP == null ? 1f : topP.floatValue(),
                topK == null ? 0 : topK,
                minP == null ? 0f : minP.floatValue(),
                repetitionPenalty == null ? 1f : repetitionPenalty.floatValue(),
                presencePenalty == null ? 0f : presencePenalty.floatValue(),
                frequencyPenalty == null ? 0f : frequencyPenalty.floatValue(),
                64,
                seed);
    }

    /** A token limit: {@code value} when given (at least 1), else {@code fallback}. */
    static int maxTokens(Integer value, String field, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value < 1) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be at least 1");
        }
        return value;
    }

    static List<String> stop(JsonNode stop) {
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
}
