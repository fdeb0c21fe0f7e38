package ai.factory.api.openai;

import ai.factory.api.RequestAudit;
import ai.factory.inference.CallListener;
import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Embeddings;
import ai.factory.security.Action;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** OpenAI's {@code POST /v1/embeddings}. */
public final class EmbeddingsResource implements Routes {
    /** OpenAI's own bound on inputs per request. */
    static final int MAX_INPUTS = 2048;

    private final Deployments deployments;

    private final Access access;

    public EmbeddingsResource(Deployments deployments, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/v1/embeddings", Action.INVOKE, this::create);
    }

    private void create(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        String model = JsonBodies.requiredString(body, "model");
        CallListener listener = RequestAudit.listener(ctx);
        listener.model(model);
        List<String> inputs = inputs(body.get("input"));
        boolean base64 = switch (JsonBodies.optionalString(body, "encoding_format").orElse("float")) {
            case "float" -> false;
            case "base64" -> true;
            default -> throw FactoryException.invalidParam("encoding_format",
                    "'encoding_format' must be 'float' or 'base64'");
        };
        access.invoke(ctx, model);
        EmbeddingEngine engine = deployments.embeddingEngine(model);
        JsonBodies.optionalInt(body, "dimensions").ifPresent(d -> {
            if (d != engine.dimensions()) {
                throw FactoryException.invalidParam("dimensions", "the model '" + model + "' returns "
                        + engine.dimensions() + " dimensions and cannot return " + d);
            }
        });
        Embeddings result = engine.embed(inputs);
        List<Map<String, Object>> data = new ArrayList<>(inputs.size());
        for (int i = 0; i < result.vectors().size(); i++) {
            float[] v = result.vectors().get(i);
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("object", "embedding");
            item.put("index", i);
            item.put("embedding", base64 ? encode(v) : v);
            data.add(item);
        }
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("object", "list");
        response.put("data", data);
        response.put("model", model);
        response.put("usage", Map.of("prompt_tokens", result.promptTokens(), "total_tokens", result.promptTokens()));
        listener.finished(result.promptTokens(), 0);
        ctx.json(response);
    }

    private static List<String> inputs(JsonNode input) {
        if (input == null || input.isNull()) {
            throw FactoryException.invalidParam("input", "'input' is required: a string or an array of strings");
        }
        if (input.isTextual()) {
            return List.of(input.asText());
        }
        if (!input.isArray()) {
            throw FactoryException.invalidParam("input", "'input' must be a string or an array of strings, not "
                    + JsonBodies.kind(input));
        }
        if (input.isEmpty()) {
            throw FactoryException.invalidParam("input", "'input' is an empty array; send at least one string");
        }
        if (input.size() > MAX_INPUTS) {
            throw FactoryException.invalidParam("input", "'input' has " + input.size() + " items; at most "
                    + MAX_INPUTS + " are allowed per request");
        }
        List<String> out = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (item.isNumber() || item.isArray()) {
                throw FactoryException.invalidParam("input", "input[" + i + "] is " + JsonBodies.kind(item)
                        + "; token arrays are not supported, send text");
            }
            if (!item.isTextual()) {
                throw FactoryException.invalidParam("input", "input[" + i + "] must be a string, not "
                        + JsonBodies.kind(item));
            }
            out.add(item.asText());
        }
        return out;
    }

    private static String encode(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
