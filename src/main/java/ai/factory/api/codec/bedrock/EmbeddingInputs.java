package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import java.util.function.Supplier;

/**
 * The embedding bodies' names for the texts: the pipeline and the engines name them as the factory does
 * ({@code input}, one text {@code input[2]}); Titan's body has one, {@code inputText}, Cohere's an array,
 * {@code texts}.
 */
final class EmbeddingInputs {
    private final String field;
    private final boolean single;

    private EmbeddingInputs(String field, boolean single) {
        this.field = field;
        this.single = single;
    }

    /** One text in {@code field}: {@code input[0]} becomes {@code field}. */
    static EmbeddingInputs single(String field) {
        return new EmbeddingInputs(field, true);
    }

    /** An array of texts in {@code field}: {@code input[2]} becomes {@code field[2]}. */
    static EmbeddingInputs array(String field) {
        return new EmbeddingInputs(field, false);
    }

    /** Runs {@code work}, renaming the texts in any invalid-request error it throws about them (its code kept). */
    <T> T apply(Supplier<T> work) {
        try {
            return work.get();
        } catch (FactoryException e) {
            if (!"input".equals(e.param())) {
                throw e;
            }
            String message = single ? e.getMessage().replace("input[0]", "'" + field + "'")
                    : e.getMessage().replace("input[", field + "[");
            FactoryException renamed = FactoryException.about(e.code(), field, message.replace("'input'", "'" + field + "'"));
            throw e.isDenial() ? renamed.asDenial() : renamed;
        }
    }
}
