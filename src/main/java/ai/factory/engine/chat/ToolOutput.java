package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A model's reply split into its text and its tool calls.
 *
 * @param content the text around the calls; empty when the reply was only calls
 * @param calls the well-formed calls, in order; a call the model botched stays in {@code content} as text
 */
public record ToolOutput(String content, List<ToolCall> calls) {
    public ToolOutput {
        requireNonNull(content, "content is null");
        calls = List.copyOf(requireNonNull(calls, "calls is null"));
    }
}
