package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.TokenEvent;
import ai.factory.engine.chat.ToolCall;
import java.util.List;

/**
 * A whole call's output, collected.
 *
 * @param text the output text (without tool calls)
 * @param tokens every generated token, with log-probabilities when asked for
 * @param toolCalls the tools the model called, in order
 */
public record Completion(String text, List<TokenEvent.Token> tokens, List<ToolCall> toolCalls, InferenceEvent.End end) {
    public Completion {
        requireNonNull(text, "text is null");
        tokens = List.copyOf(tokens);
        toolCalls = List.copyOf(toolCalls);
        requireNonNull(end, "end is null");
    }
}
