package ai.factory.inference;

import ai.factory.engine.chat.ToolCall;
import java.util.List;

/** How a run separates a model's tool calls from its text (the model family's call syntax). */
final class ToolCalls {
    private ToolCalls() {}

    /** What an output held: its text and the calls in it. */
    record Output(String content, List<ToolCall> calls) {
        Output {
            calls = List.copyOf(calls);
        }
    }

    /** Reads one generation's output as it streams. */
    interface Splitter {
        /** The part of the text so far that is certainly not a call and can be sent now. */
        String accept(String delta);

        /** The rest of the text, and the calls. */
        Output finish();
    }
}
