package ai.factory.engine;

import org.jspecify.annotations.Nullable;

/**
 * A loaded text model.
 *
 * @param contextPerSequence tokens one sequence (prompt + output) may hold
 * @param parallel sequences generated at once
 * @param chatTemplate the GGUF's {@code tokenizer.chat_template}, or null
 * @param bosText text of the BOS token ("" if the model has none), as chat templates expect it
 * @param eosText text of the EOS token ("" if none)
 */
public record TextModelInfo(int contextPerSequence, int parallel, int vocabularySize, @Nullable String chatTemplate,
                            String bosText, String eosText, boolean addBos) {
    public TextModelInfo {
        if (contextPerSequence < 1 || parallel < 1 || vocabularySize < 1) {
            throw new IllegalArgumentException("context, parallel and vocabulary must be positive");
        }
        bosText = bosText == null ? "" : bosText;
        eosText = eosText == null ? "" : eosText;
    }
}
