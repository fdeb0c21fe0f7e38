package ai.factory.api.bedrock;

import ai.factory.FactoryException;

/** How Bedrock model ids name the factory's models. */
final class BedrockModels {
    private BedrockModels() {}

    /**
     * The factory model name for a Bedrock model id: the name itself ({@code ns/model} or
     * {@code ns/model:version}); the path parameter arrives already URL-decoded.
     */
    static String modelName(String modelId) {
        if (modelId == null || modelId.isBlank()) {
            throw FactoryException.invalidParam("modelId", "the model id is empty");
        }
        return modelId;
    }
}
