package ai.factory.api.codec.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's {@code text_completion} object: a whole answer of the legacy completions API, or, streamed, one chunk of
 * it (the same shape, with a fragment of text; the usage chunk has no choices).
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record TextCompletion(String id, String object, long created, String model, String systemFingerprint,
                             List<Choice> choices,
                                     @JsonInclude(JsonInclude.Include.NON_NULL) ChatCompletion.@Nullable Usage usage) {
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Choice(String text, int index, @Nullable Logprobs logprobs, @Nullable String finishReason) {}

    /** The legacy logprobs shape: parallel arrays of tokens, their log-probabilities and top alternatives. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Logprobs(List<String> tokens, List<Float> tokenLogprobs, List<Map<String, Float>> topLogprobs,
                           List<Integer> textOffset) {}
}
