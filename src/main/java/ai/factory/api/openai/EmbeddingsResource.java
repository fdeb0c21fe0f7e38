package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.EmbeddingList;
import ai.factory.api.codec.openai.EmbeddingRequest;
import ai.factory.engine.Embeddings;
import ai.factory.inference.CallListener;
import ai.factory.inference.EmbeddingCall;
import ai.factory.inference.InferencePipeline;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.OptionalInt;

/** OpenAI's {@code POST /v1/embeddings}. */
public final class EmbeddingsResource implements Routes {
    private final InferencePipeline pipeline;

    public EmbeddingsResource(InferencePipeline pipeline) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/v1/embeddings", Contract.of("Embed texts with an embedding model",
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
        Embeddings result = pipeline.embed(Authentication.principal(ctx), new EmbeddingCall(model, inputs,
                body.dimensions() == null ? OptionalInt.empty() : OptionalInt.of(body.dimensions()),
                EmbeddingCall.Truncation.NONE), listener);
        List<EmbeddingList.Embedding> data = new ArrayList<>(inputs.size());
        for (int i = 0; i < result.vectors().size(); i++) {
            float[] v = result.vectors().get(i);
            data.add(EmbeddingList.Embedding.of(i, base64 ? encode(v) : v));
        }
        ctx.json(EmbeddingList.of(data, model, result.promptTokens()));
    }

    private static String encode(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
