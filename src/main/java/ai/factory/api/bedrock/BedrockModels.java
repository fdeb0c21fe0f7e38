package ai.factory.api.bedrock;

import ai.factory.FactoryException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** How Bedrock model ids name the factory's models. */
final class BedrockModels {
    /**
     * An imported (or custom) model's ARN, whose resource id is the factory's model name:
     * {@code arn:aws:bedrock:REGION:ACCOUNT:imported-model/NS/MODEL[:VERSION]}. Region and account are not
     * checked: a factory is one site, and clients fill them in from their own configuration.
     */
    private static final Pattern ARN = Pattern.compile(
            "arn:aws[a-z-]*:bedrock:[a-z0-9-]*:[0-9]*:(?:imported-model|custom-model|foundation-model)/(.+)");

    private BedrockModels() {}

    /**
     * The factory model name for a Bedrock model id: the name itself ({@code ns/model} or
     * {@code ns/model:version}), or an imported-model, custom-model or foundation-model ARN around it. The path parameter arrives URL-decoded.
     */
    static String modelName(String modelId) {
        if (modelId == null || modelId.isBlank()) {
            throw FactoryException.invalidParam("modelId", "the model id is empty");
        }
        if (!modelId.startsWith("arn:")) {
            return modelId;
        }
        Matcher m = ARN.matcher(modelId);
        if (!m.matches()) {
            throw FactoryException.invalidParam("modelId", "the model ARN '" + modelId + "' is not understood; use "
                    + "arn:aws:bedrock:REGION:ACCOUNT:imported-model/NS/MODEL[:VERSION] (or custom-model/…, "
                    + "foundation-model/…) or the model name itself");
        }
        return m.group(1);
    }
}
