package ai.factory.engine;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** What a generation produces, in order: any number of {@link Token}s, then exactly one {@link Done}. */
public sealed interface TokenEvent {
    /**
     * One generated token.
     *
     * @param text the text this token adds to the output, already held back or cut for stop strings and
     *     incomplete UTF-8; may be empty (then a later event carries it)
     * @param logprob the token's log-probability, NaN unless requested
     * @param top the most likely alternatives, empty unless requested
     */
    record Token(int id, String text, float logprob, List<TopLogprob> top) implements TokenEvent {
        public Token {
            requireNonNull(text, "text is null");
            top = List.copyOf(top);
        }
    }

    /**
     * The end of a generation.
     *
     * @param cachedPromptTokens prompt tokens reused from the KV cache instead of being computed again
     */
    record Done(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens,
                @Nullable String error) implements TokenEvent {
        public Done {
            requireNonNull(reason, "reason is null");
        }
    }

    /** A candidate token with its log-probability. */
    record TopLogprob(int id, String text, float logprob) {}

    /** Why a generation ended. */
    enum FinishReason {
        /** The model ended its turn (EOS). */
        STOP,
        /** One of the request's stop strings. */
        STOP_SEQUENCE,
        /** {@code maxTokens} or the context filled up. */
        LENGTH,
        /** The caller cancelled (e.g. the client went away) or the engine shut down. */
        CANCELLED,
        /** The engine failed; {@link Done#error()} says how. */
        ERROR,
        /**
         * The replica stopped serving mid-generation (the worker running it went away); {@link Done#error()} says how.
         * The call may be tried again: another replica serves it.
         */
        UNAVAILABLE
    }
}
