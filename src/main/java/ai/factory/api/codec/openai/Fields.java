package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.engine.SamplingParams;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * The most choices per prompt ({@code n}). OpenAI allows 128; here each choice is a sequence of the replica,
     * which decodes a few at a time (4 slots by default) and queues the rest, so a larger {@code n} only waits.
     */
    static final int MAX_N = 16;

    /** {@code n}: 1 when absent, else from 1 to {@value #MAX_N}. */
    static int n(Integer n) {
        if (n == null) {
            return 1;
        }
        if (n < 1 || n > MAX_N) {
            throw FactoryException.invalidParam("n", "'n' must be between 1 and " + MAX_N + ", not " + n);
        }
        return n;
    }

    static SamplingParams sampling(Double temperature, Double topP, @Nullable Integer topK, @Nullable Double minP,
                                   @Nullable Double repetitionPenalty,
                                   @Nullable Double presencePenalty, @Nullable Double frequencyPenalty,
                                           @Nullable Long seed) {
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

    /**
     * OpenAI's {@code logit_bias}: token ids (as the object's keys) to a bias from -100 to 100. Ids beyond the model's
     * vocabulary are refused by the engine, which knows it.
     */
    static Map<Integer, Float> logitBias(Map<String, Double> bias) {
        if (bias == null) {
            return Map.of();
        }
        Map<Integer, Float> out = new LinkedHashMap<>();
        bias.forEach((token, value) -> {
            int id;
            try {
                id = Integer.parseInt(token);
            } catch (NumberFormatException e) {
                throw FactoryException.invalidParam("logit_bias", "'logit_bias' keys are token ids, not '" + token + "'");
            }
            if (id < 0) {
                throw FactoryException.invalidParam("logit_bias", "'logit_bias' keys are token ids, not " + id);
            }
            if (value == null || value < -100 || value > 100) {
                throw FactoryException.invalidParam("logit_bias", "'logit_bias' values must be between -100 and 100, not "
                        + value + " (token " + id + ")");
            }
            out.put(id, value.floatValue());
        });
        return out;
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
