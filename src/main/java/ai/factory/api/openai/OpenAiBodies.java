package ai.factory.api.openai;

import ai.factory.inference.CallListener;
import com.fasterxml.jackson.databind.JsonNode;

/** What OpenAI's routes do with a body before decoding it. */
final class OpenAiBodies {
    private OpenAiBodies() {}

    /** Names the model for metrics and audit before the body is checked, so a refused call is attributed too. */
    static void reportModel(JsonNode body, CallListener listener) {
        JsonNode model = body.get("model");
        if (model != null && model.isTextual()) {
            listener.model(model.asText());
        }
    }
}
