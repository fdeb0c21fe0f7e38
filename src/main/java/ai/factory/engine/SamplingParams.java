package ai.factory.engine;
import org.jspecify.annotations.Nullable;


/**
 * How the next token is chosen. Temperature 0 is greedy (deterministic, seed irrelevant). Disabled values:
 * topP 1, topK 0, minP 0, repeatPenalty 1, presence/frequency 0.
 *
 * @param repeatLastN how many recent tokens the penalties look at (-1 = the whole context)
 * @param seed fixes the random choice for temperature > 0; null picks one per request
 */
public record SamplingParams(float temperature, float topP, int topK, float minP, float repeatPenalty,
                             float presencePenalty, float frequencyPenalty, int repeatLastN, @Nullable Long seed) {
    public static final SamplingParams GREEDY = new SamplingParams(0f, 1f, 0, 0f, 1f, 0f, 0f, 64, null);

    public SamplingParams {
        check(temperature >= 0 && temperature <= 2, "temperature", "must be between 0 and 2");
        check(topP > 0 && topP <= 1, "top_p", "must be in (0, 1]");
        check(topK >= 0, "top_k", "must not be negative");
        check(minP >= 0 && minP <= 1, "min_p", "must be in [0, 1]");
        check(repeatPenalty > 0, "repetition_penalty", "must be positive");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", "must be between -2 and 2");
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", "must be between -2 and 2");
        check(repeatLastN >= -1, "repeat_last_n", "must be -1 or more");
    }

    /** These parameters with another seed (null: one picked per request). */
    public SamplingParams withSeed(Long seed) {
        return new SamplingParams(temperature, topP, topK, minP, repeatPenalty, presencePenalty, frequencyPenalty,
                repeatLastN, seed);
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    private static void check(boolean ok, String param, String message) {
        if (!ok) {
            throw ai.factory.FactoryException.invalidParam(param, "'" + param + "' " + message);
        }
    }
}
