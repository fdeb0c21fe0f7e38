package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import ai.factory.engine.Embeddings;
import ai.factory.inference.EmbeddingCall;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * Amazon Titan Text Embeddings V2's InvokeModel body as the factory's embedding call, and the answer in Titan's shape.
 *
 * <p>Where the factory's model differs from Titan's, the body is read truthfully rather than imitated:
 * {@code dimensions} must be the model's own length (384 for the bundled MiniLM) or absent, since Titan's 256, 512 and
 * 1024 are lengths it was trained to return and a vector cut to another length is a different vector unless the model
 * was trained for that (the factory serves no such model); another value is a ValidationException naming the length
 * the model returns. {@code normalize} is accepted either way: the factory's embedding models end in a normalization
 * (sentence-transformers' pooling, then unit length), so their own output already has unit length, and
 * {@code normalize: false} has nothing left to undo.
 */
public final class TitanEmbeddingsCodec {
    /** Bedrock's bound on {@code inputText} for Titan Text Embeddings V2, in characters. */
    static final int MAX_CHARACTERS = 50_000;

    private static final EmbeddingInputs INPUTS = EmbeddingInputs.single("inputText");

    private TitanEmbeddingsCodec() {}

    /**
     * The call, and the types the answer carries.
     *
     * @param floats whether {@code embeddingsByType} holds the floats (the default)
     * @param binary whether {@code embeddingsByType} holds the bits
     */
    public record Decoded(EmbeddingCall call, boolean floats, boolean binary) {}

    public static Decoded decode(String model, TitanEmbeddingsBody.Request r) {
        String text = r.inputText();
        if (text == null) {
            throw FactoryException.invalidParam("inputText", "'inputText' is required: the text to embed");
        }
        if (text.isEmpty()) {
            throw FactoryException.invalidParam("inputText", "'inputText' is empty; send the text to embed");
        }
        int characters = text.codePointCount(0, text.length());
        if (characters > MAX_CHARACTERS) {
            throw FactoryException.invalidParam("inputText", "'inputText' has " + characters
                    + " characters; at most " + MAX_CHARACTERS + " are allowed");
        }
        boolean floats = r.embeddingTypes() == null;
        boolean binary = false;
        if (r.embeddingTypes() != null) {
            if (r.embeddingTypes().isEmpty()) {
                throw FactoryException.invalidParam("embeddingTypes", "'embeddingTypes' is empty; list 'float', "
                        + "'binary' or both, or leave it out for 'float'");
            }
            for (String type : r.embeddingTypes()) {
                switch (type == null ? "null" : type) {
                    case "float" -> floats = true;
                    case "binary" -> binary = true;
                    default -> throw FactoryException.invalidParam("embeddingTypes", "'embeddingTypes' may list "
                            + "'float' and 'binary', not '" + type + "'");
                }
            }
        }
        OptionalInt dimensions = r.dimensions() == null ? OptionalInt.empty() : OptionalInt.of(r.dimensions());
        return new Decoded(new EmbeddingCall(model, List.of(text), dimensions, EmbeddingCall.Truncation.NONE),
                floats, binary);
    }

    /** Runs the call, naming the text as the body does ({@code inputText}) in its errors. */
    public static <T> T naming(Supplier<T> work) {
        return INPUTS.apply(work);
    }

    public static TitanEmbeddingsBody.Response response(Decoded request, Embeddings result) {
        float[] vector = result.vectors().getFirst();
        return new TitanEmbeddingsBody.Response(vector, result.promptTokens(), new TitanEmbeddingsBody.ByType(
                request.floats() ? vector : null, request.binary() ? bits(vector) : null));
    }

    /** Titan's binary embedding: each dimension one binary digit, 1 where the float is positive. */
    static int[] bits(float[] vector) {
        int[] bits = new int[vector.length];
        for (int i = 0; i < vector.length; i++) {
            bits[i] = vector[i] > 0 ? 1 : 0;
        }
        return bits;
    }
}
