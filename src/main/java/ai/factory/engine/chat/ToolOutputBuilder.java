package ai.factory.engine.chat;

import java.util.ArrayList;
import java.util.List;

/**
 * Assembles a {@link ToolOutput} from the pieces a parser finds, in order: text, calls, text.
 *
 * <p>Without calls the text is kept exactly. With calls, the text before the first call loses its trailing
 * whitespace (the blank line a model writes before a call) and each later stretch of text is trimmed and joined
 * with a newline. Leading text is never trimmed at the front: {@link ToolCallSplitter} has streamed it already,
 * and what it streamed must stay a prefix of the content.
 */
final class ToolOutputBuilder {
    private final StringBuilder before = new StringBuilder();
    private final List<StringBuilder> after = new ArrayList<>();
    private final List<ToolCall> calls = new ArrayList<>();

    ToolOutputBuilder text(String text) {
        (after.isEmpty() ? before : after.getLast()).append(text);
        return this;
    }

    ToolOutputBuilder calls(List<ToolCall> found) {
        if (!found.isEmpty()) {
            calls.addAll(found);
            after.add(new StringBuilder());
        }
        return this;
    }

    ToolOutput build() {
        if (calls.isEmpty()) {
            return new ToolOutput(before.toString(), List.of());
        }
        StringBuilder content = new StringBuilder(before.toString().stripTrailing());
        for (StringBuilder stretch : after) {
            String text = stretch.toString().strip();
            if (!text.isEmpty()) {
                content.append(content.isEmpty() ? "" : "\n").append(text);
            }
        }
        return new ToolOutput(content.toString(), calls);
    }
}
