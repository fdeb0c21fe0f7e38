package ai.factory.api.codec.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/** OpenAI's {@code chat.completion} object: the answer to a chat request that was not streamed. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletion(String id, String object, long created, String model, String systemFingerprint,
                             List<Choice> choices, Usage usage) {
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Choice(int index, Message message, @Nullable Logprobs logprobs, @Nullable String finishReason) {}

    /**
     * The assistant's reply; {@code content} is null when it only called tools, as OpenAI answers. A request in the
     * legacy {@code functions} form gets its call as {@code function_call}.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Message(String role, @Nullable String content, @Nullable String refusal,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCall> toolCalls,
                          @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Function functionCall) {}

    public record ToolCall(String id, String type, Function function) {}

    public record Function(String name, String arguments) {}

    /** Per-token log-probabilities. */
    public record Logprobs(List<TokenLogprob> content) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TokenLogprob(String token, float logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    public record TopLogprob(String token, float logprob, List<Integer> bytes) {}

    /** Token counts; OpenAI's shape, shared by chat, completions and their streamed forms. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record PromptTokensDetails(int cachedTokens) {}
}
