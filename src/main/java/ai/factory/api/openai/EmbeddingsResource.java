package ai.factory.api.openai;

import ai.factory.api.RequestAudit;
import ai.factory.inference.CallListener;
import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.EmbeddingList;
import ai.factory.api.codec.openai.EmbeddingRequest;
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
import java.util.List;

/** OpenAI's {@code POST /v1/embeddings}. */
public final class EmbeddingsResource implements Routes {
    private final Deployments deployments;

    private final Access access;

    public EmbeddingsResource(Deployments deployments, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/v1/embeddings", Action.INVOKE, Contract.of("Embed texts with an embedding model",
                EmbeddingRequest.class, EmbeddingList.class), this::create);
    }

    private void create(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        JsonNode tree = WireJson.tree(ctx.bodyAsBytes());
        OpenAiBodies.reportModel(tree, listener);
        EmbeddingRequest body = WireJson.bind(tree, EmbeddingRequest.class);
        String model = body.model();
        List<String> inputs = body.inputs();
        boolean base64 = body.base64();
        access.invoke(ctx, model);
        EmbeddingEngine engine = deployments.embeddingEngine(model);
        if (body.dimensions() != null && body.dimensions() != engine.dimensions()) {
            throw FactoryException.invalidParam("dimensions", "the model '" + model + "' returns "
                    + engine.dimensions() + " dimensions and cannot return " + body.dimensions());
        }
        Embeddings result = engine.embed(inputs);
        List<EmbeddingList.Embedding> data = new ArrayList<>(inputs.size());
        for (int i = 0; i < result.vectors().size(); i++) {
            float[] v = result.vectors().get(i);
            data.add(EmbeddingList.Embedding.of(i, base64 ? encode(v) : v));
        }
        listener.finished(result.promptTokens(), 0);
        ctx.json(EmbeddingList.of(data, model, result.promptTokens()));
    }

    private static String encode(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
