package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.TokenEvent;
import ai.factory.engine.chat.ToolCall;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;

/** Collects one choice's events into its {@link Completion}: the text, the tokens, and the tool calls. */
final class CompletionBuilder {
    private final StringBuilder text = new StringBuilder();
    private final List<TokenEvent.Token> tokens = new ArrayList<>();
    private final List<ToolCall> calls = new ArrayList<>();
    private final StringBuilder arguments = new StringBuilder();
    private @Nullable String callId;
    private @Nullable String callName;
    private @Nullable Completion done;

    /** Takes the next event; the {@link InferenceEvent.End} completes the choice. */
    void accept(InferenceEvent event) {
        switch (event) {
            case InferenceEvent.Text t -> {
                text.append(t.text());
                if (t.token() != null) {
                    tokens.add(t.token());
                }
            }
            case InferenceEvent.ToolCallDelta d -> {
                if (d.first()) {
                    flush();
                    callId = d.id();
                    callName = d.name();
                }
                arguments.append(d.arguments());
            }
            case InferenceEvent.End end -> {
                flush();
                done = new Completion(text.toString(), tokens, calls, end);
            }
        }
    }

    /** The choice, once its end was accepted. */
    Completion completion() {
        if (done == null) {
            throw new IllegalStateException("the choice has not ended");
        }
        return done;
    }

    private void flush() {
        if (callId != null) {
            calls.add(new ToolCall(callId, requireNonNull(callName, "a call's first delta has its name"),
                    arguments.toString()));
            callId = null;
            arguments.setLength(0);
        }
    }
}
