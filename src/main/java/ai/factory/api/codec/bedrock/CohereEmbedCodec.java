package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import ai.factory.engine.Embeddings;
import ai.factory.inference.EmbeddingCall;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * Cohere Embed (v3)'s InvokeModel body as the factory's embedding call, and the answer in Cohere's shape
 * ({@code embeddings_floats}, or {@code embeddings_by_type} when {@code embedding_types} are asked for).
 *
 * <p>{@code input_type} is required and checked, as Cohere's v3 models require it; it changes nothing for the
 * factory's models, which have no prompt per use (Cohere's prepend one). {@code truncate} {@code START} and
 * {@code END} drop the start or end of a text until it fits the model's input. Of the embedding types, the float
 * vectors and the packed signs ({@code binary}, {@code ubinary}) are exact functions of the vector and are served;
 * {@code int8} and {@code uint8} depend on calibration ranges that Cohere sets for its own models and that the
 * factory's models do not have, so asking for them is a ValidationException that names the types served.
 */
public final class CohereEmbedCodec {
    /** Bedrock's bounds for Cohere Embed: texts per call, and characters per text. */
    static final int MAX_TEXTS = 96;
    static final int MAX_CHARACTERS = 2048;

    private static final List<String> INPUT_TYPES = List.of("search_document", "search_query", "classification",
            "clustering");
    private static final EmbeddingInputs INPUTS = EmbeddingInputs.array("texts");

    private CohereEmbedCodec() {}

    /**
     * The call, the texts as sent (the answer repeats them), and the types the answer carries.
     *
     * @param byType whether {@code embedding_types} were given, and the answer is {@code embeddings_by_type}
     */
    public record Decoded(EmbeddingCall call, List<String> texts, boolean byType, boolean floats, boolean binary,
                          boolean ubinary) {
        public Decoded {
            texts = List.copyOf(texts);
        }
    }

    public static Decoded decode(String model, CohereEmbedBody.Request r) {
        if (r.images() != null && !r.images().isNull()) {
            throw FactoryException.invalidParam("images", "'images' are not supported: the model embeds text; send "
                    + "'texts'");
        }
        List<String> texts = texts(r.texts());
        if (r.inputType() == null) {
            throw FactoryException.invalidParam("input_type", "'input_type' is required: one of "
                    + String.join(", ", INPUT_TYPES));
        }
        if (!INPUT_TYPES.contains(r.inputType())) {
            throw FactoryException.invalidParam("input_type", "'input_type' must be one of "
                    + String.join(", ", INPUT_TYPES) + ", not '" + r.inputType() + "'");
        }
        EmbeddingCall.Truncation truncation = switch (r.truncate() == null ? "NONE" : r.truncate()) {
            case "NONE" -> EmbeddingCall.Truncation.NONE;
            case "START" -> EmbeddingCall.Truncation.START;
            case "END" -> EmbeddingCall.Truncation.END;
            default -> throw FactoryException.invalidParam("truncate", "'truncate' must be NONE, START or END, not '"
                    + r.truncate() + "'");
        };
        EmbeddingCall call = new EmbeddingCall(model, texts, OptionalInt.empty(), truncation);
        if (r.embeddingTypes() == null) {
            return new Decoded(call, texts, false, true, false, false);
        }
        if (r.embeddingTypes().isEmpty()) {
            throw FactoryException.invalidParam("embedding_types", "'embedding_types' is empty; list the types "
                    + "wanted ('float', 'binary', 'ubinary'), or leave it out for floats");
        }
        boolean floats = false;
        boolean binary = false;
        boolean ubinary = false;
        for (String type : r.embeddingTypes()) {
            switch (type == null ? "null" : type) {
                case "float" -> floats = true;
                case "binary" -> binary = true;
                case "ubinary" -> ubinary = true;
                case "int8", "uint8" -> throw FactoryException.invalidParam("embedding_types", "'" + type
                        + "' embeddings are not served: their scale comes from calibration ranges of Cohere's own "
                        + "models, which this model does not have; 'float', 'binary' and 'ubinary' are");
                default -> throw FactoryException.invalidParam("embedding_types", "'embedding_types' may list "
                        + "'float', 'int8', 'uint8', 'binary' and 'ubinary', not '" + type + "'");
            }
        }
        return new Decoded(call, texts, true, floats, binary, ubinary);
    }

    private static List<String> texts(List<String> texts) {
        if (texts == null) {
            throw FactoryException.invalidParam("texts", "'texts' is required: an array of the texts to embed");
        }
        if (texts.isEmpty()) {
            throw FactoryException.invalidParam("texts", "'texts' is empty; send at least one text");
        }
        if (texts.size() > MAX_TEXTS) {
            throw FactoryException.invalidParam("texts", "'texts' has " + texts.size() + " texts; at most "
                    + MAX_TEXTS + " are allowed per call");
        }
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null) {
                throw FactoryException.invalidParam("texts", "'texts[" + i + "]' must be a string, not null");
            }
            int characters = text.codePointCount(0, text.length());
            if (characters > MAX_CHARACTERS) {
                throw FactoryException.invalidParam("texts", "texts[" + i + "] has " + characters
                        + " characters; at most " + MAX_CHARACTERS + " are allowed per text");
            }
        }
        return texts;
    }

    /** Runs the call, naming the texts as the body does ({@code texts[2]}) in its errors. */
    public static <T> T naming(Supplier<T> work) {
        return INPUTS.apply(work);
    }

    /** The answer: {@code embeddings_floats}, or {@code embeddings_by_type} when types were asked for. */
    public static Object response(Decoded request, String id, Embeddings result) {
        List<float[]> vectors = result.vectors();
        if (!request.byType()) {
            return new CohereEmbedBody.Floats(vectors, id, request.texts());
        }
        return new CohereEmbedBody.ByType(new CohereEmbedBody.Vectors(request.floats() ? vectors : null,
                request.binary() ? packed(vectors, -128) : null, request.ubinary() ? packed(vectors, 0) : null),
                id, request.texts());
    }

    /**
     * Each vector's signs, packed eight dimensions to a byte, the first in the highest bit (1 where the float is
     * positive, a last byte padded with zeros), each byte plus {@code offset}.
     */
    static List<int[]> packed(List<float[]> vectors, int offset) {
        List<int[]> out = new ArrayList<>(vectors.size());
        for (float[] v : vectors) {
            int[] bytes = new int[(v.length + 7) / 8];
            for (int i = 0; i < v.length; i++) {
                if (v[i] > 0) {
                    bytes[i >> 3] |= 0x80 >>> (i & 7);
                }
            }
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] += offset;
            }
            out.add(bytes);
        }
        return out;
    }
}
