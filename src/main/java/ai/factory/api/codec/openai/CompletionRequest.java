package ai.factory.api.codec.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.Map;

/**
 * The body of OpenAI's legacy {@code POST /v1/completions}: a raw prompt (text, or token ids) continued without a
 * chat template. {@code prompt} and {@code stop} vary in JSON type and are read by {@link CompletionCodec}.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionRequest(
        String model,
        JsonNode prompt,
        String suffix,
        Boolean stream,
        ChatCompletionRequest.StreamOptions streamOptions,
        Boolean echo,
        Integer logprobs,
        Double temperature,
        Double topP,
        Integer topK,
        Double minP,
        Double repetitionPenalty,
        Double presencePenalty,
        Double frequencyPenalty,
        Long seed,
        JsonNode stop,
        Integer maxTokens,
        Integer n,
        Boolean ignoreEos,
        Map<String, Double> logitBias) {}
