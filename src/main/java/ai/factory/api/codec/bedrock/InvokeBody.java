package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The model bodies InvokeModel understands. Bedrock's body is the model's own and carries no name of its format, so
 * each family is told by the fields only it has; a body is read only as a family the model serves (text models take
 * Meta Llama's and OpenAI chat's, embedding models Amazon Titan Text Embeddings' and Cohere Embed's), and one with no
 * family's fields, or with two families' fields, is refused with the bodies the model takes.
 */
public enum InvokeBody {
    LLAMA("Meta Llama's ({\"prompt\": …})", false, "prompt"),
    OPENAI_CHAT("OpenAI chat's ({\"messages\": […]})", false, "messages"),
    TITAN_EMBEDDINGS("Amazon Titan Text Embeddings' ({\"inputText\": …})", true, "inputText"),
    COHERE_EMBED("Cohere Embed's ({\"texts\": […], \"input_type\": …})", true, "texts", "input_type");

    private final String description;
    private final boolean embeddings;
    private final List<String> fields;

    InvokeBody(String description, boolean embeddings, String... fields) {
        this.description = description;
        this.embeddings = embeddings;
        this.fields = List.of(fields);
    }

    /** Whether this body asks for embeddings (else for generated text). */
    public boolean embeddings() {
        return embeddings;
    }

    /**
     * The family of {@code body}, sent to {@code model}, an embedding model or not.
     *
     * @throws FactoryException INVALID_REQUEST (field {@code body}) for a body of no family, of two, or of a family
     *     the model does not serve, naming the bodies it takes
     */
    public static InvokeBody of(JsonNode body, String model, boolean embeddingModel) {
        List<InvokeBody> found = Arrays.stream(values()).filter(b -> b.fields.stream().anyMatch(body::has)).toList();
        if (found.size() > 1) {
            throw FactoryException.invalidParam("body", "the body mixes " + found.stream()
                    .map(b -> b.description).collect(Collectors.joining(" and ")) + " fields; send one model's body: "
                    + takes(model, embeddingModel));
        }
        if (found.isEmpty()) {
            throw FactoryException.invalidParam("body", "the body is no model body InvokeModel understands: "
                    + takes(model, embeddingModel));
        }
        InvokeBody kind = found.getFirst();
        if (kind.embeddings != embeddingModel) {
            throw FactoryException.invalidParam("body", takes(model, embeddingModel) + ", not " + kind.description);
        }
        return kind;
    }

    /** What a model takes, in words. */
    private static String takes(String model, boolean embeddingModel) {
        return "the model '" + model + "' " + (embeddingModel ? "is an embedding model" : "generates text")
                + "; its body is " + Arrays.stream(values()).filter(b -> b.embeddings == embeddingModel)
                .map(b -> b.description).collect(Collectors.joining(" or "));
    }
}
