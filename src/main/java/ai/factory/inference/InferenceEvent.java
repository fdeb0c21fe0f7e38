package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.TokenEvent;
import org.jspecify.annotations.Nullable;

/**
 * What a running call produces, in order: text deltas, then, when the model called tools, each call's deltas, and
 * exactly one {@link End}. Codecs translate these into their API's frames.
 */
public sealed interface InferenceEvent {
    /**
     * Output text.
     *
     * @param text what this delta adds; may be empty (a token whose text a later one carries)
     * @param token the token that produced it, with its log-probabilities when they were asked for; null for text
     *     released at the end (text that was held back while it could have been the start of a tool call)
     */
    record Text(String text, TokenEvent.@Nullable Token token) implements InferenceEvent {
        public Text {
            requireNonNull(text, "text is null");
        }
    }

    /**
     * A piece of a tool call, framed as OpenAI streams them: the first delta of a call carries its id and name (and
     * empty arguments), later ones carry argument fragments.
     *
     * @param index the call's position among this reply's calls
     * @param id the call's id, in its first delta only (else null)
     * @param name the tool's name, in the call's first delta only (else null)
     * @param arguments a fragment of the arguments' JSON text
     */
    record ToolCallDelta(int index, @Nullable String id, @Nullable String name, String arguments)
            implements InferenceEvent {
        public ToolCallDelta {
            requireNonNull(arguments, "arguments is null");
        }

        public boolean first() {
            return id != null;
        }
    }

    /**
     * The end of the call.
     *
     * @param cachedPromptTokens prompt tokens reused from the cache
     */
    record End(Finish reason, int promptTokens, int completionTokens, int cachedPromptTokens) implements InferenceEvent {
        public End {
            requireNonNull(reason, "reason is null");
        }
    }

    /** Why the output ended. */
    enum Finish {
        /** The model ended its turn. */
        STOP,
        /** One of the call's stop strings. */
        STOP_SEQUENCE,
        /** The token limit or the context's end. */
        LENGTH,
        /** The model called tools and waits for their results. */
        TOOL_CALLS,
        /** The call was cancelled (the client went away, the server is stopping). */
        CANCELLED
    }
}
