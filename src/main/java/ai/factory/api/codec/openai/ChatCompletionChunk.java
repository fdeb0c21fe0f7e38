package ai.factory.api.codec.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * OpenAI's {@code chat.completion.chunk}: one event of a streamed chat answer. The last chunk, when the caller
 * asked for {@code stream_options.include_usage}, has no choices and carries the usage.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionChunk(String id, String object, long created, String model, String systemFingerprint,
                                  List<Choice> choices,
                                  @JsonInclude(JsonInclude.Include.NON_NULL) ChatCompletion.@Nullable Usage usage) {
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Choice(int index, Delta delta, ChatCompletion.@Nullable Logprobs logprobs,
                         @Nullable String finishReason) {}

    /** What this chunk adds; absent fields are left out, as OpenAI sends them. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Delta(@Nullable String role, @Nullable String content, @Nullable List<ToolCallDelta> toolCalls,
                        @Nullable FunctionDelta functionCall) {
        static final Delta EMPTY = new Delta(null, null, null, null);

        static Delta content(String text) {
            return new Delta(null, text, null, null);
        }
    }

    /** A tool call's piece: the first carries id, type and name; later ones argument fragments. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ToolCallDelta(int index, @Nullable String id, @Nullable String type, FunctionDelta function) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FunctionDelta(@Nullable String name, String arguments) {}
}
