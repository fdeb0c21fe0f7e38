package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.OptionalInt;
import java.util.function.ToIntFunction;

/**
 * A request for embeddings, whichever API it came through (OpenAI's {@code input}, Bedrock's Titan {@code inputText}
 * or Cohere {@code texts}): what the {@link InferencePipeline} embeds. Errors raised below a codec name the factory's
 * fields ({@code input[2]}, {@code dimensions}); a codec renames them to its API's.
 *
 * @param model the model the call names ({@code ns/model} or {@code ns/model:version})
 * @param inputs the texts, in order; one vector comes back for each
 * @param dimensions the vector length the caller needs, if it names one: the model must return exactly that, since
 *     a vector cut short is a different vector (only models trained for it, which the factory serves none of, may be
 *     truncated)
 * @param truncation what to do with a text longer than the model takes
 */
public record EmbeddingCall(String model, List<String> inputs, OptionalInt dimensions, Truncation truncation) {
    public EmbeddingCall {
        requireNonNull(model, "model is null");
        inputs = List.copyOf(requireNonNull(inputs, "inputs is null"));
        requireNonNull(dimensions, "dimensions is null");
        requireNonNull(truncation, "truncation is null");
    }

    /** What happens to a text longer than the model takes (Cohere's {@code truncate}). */
    public enum Truncation {
        /** The text is the caller's error. */
        NONE,
        /** The start of the text is dropped until the rest fits. */
        START,
        /** The end of the text is dropped until the rest fits. */
        END;

        /**
         * The text as the model will take it: itself when it fits in {@code maxTokens} (or nothing may be dropped),
         * else its longest end ({@link #START}) or beginning ({@link #END}), cut between code points, that fits. The
         * cut is found by bisection over the text's length, each step counting the tokens of one candidate, so a
         * long text costs a tokenization per halving of its length rather than one per character.
         */
        public String fit(String text, int maxTokens, ToIntFunction<String> tokens) {
            if (this == NONE || tokens.applyAsInt(text) <= maxTokens) {
                return text;
            }
            // Invariant: a piece of `fits` code points fits (none does, trivially); one of `over` does not.
            int fits = 0;
            int over = text.codePointCount(0, text.length());
            while (over - fits > 1) {
                int mid = (fits + over) >>> 1;
                if (tokens.applyAsInt(piece(text, mid)) <= maxTokens) {
                    fits = mid;
                } else {
                    over = mid;
                }
            }
            return piece(text, fits);
        }

        /** The {@code codePoints} that this truncation keeps. */
        private String piece(String text, int codePoints) {
            return switch (this) {
                case NONE -> text;
                case START -> text.substring(text.offsetByCodePoints(text.length(), -codePoints));
                case END -> text.substring(0, text.offsetByCodePoints(0, codePoints));
            };
        }
    }
}
