package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.api.codec.bedrock.BedrockErrors;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.Authentication;
import ai.factory.api.AwsEventStream;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.bedrock.CohereEmbedBody;
import ai.factory.api.codec.bedrock.CohereEmbedCodec;
import ai.factory.api.codec.bedrock.InvokeBody;
import ai.factory.api.codec.bedrock.LlamaBody;
import ai.factory.api.codec.bedrock.LlamaCodec;
import ai.factory.api.codec.bedrock.TitanEmbeddingsBody;
import ai.factory.api.codec.bedrock.TitanEmbeddingsCodec;
import ai.factory.api.codec.openai.ChatCodec;
import ai.factory.api.codec.openai.ChatCompletionRequest;
import ai.factory.engine.Embeddings;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRun;
import ai.factory.inference.InferenceRuns;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Amazon Bedrock's {@code POST /model/{modelId}/invoke} and {@code /invoke-with-response-stream}, whose body is
 * the model's own. Four body families are understood, each by its codec ({@link InvokeBody} tells them apart, among
 * those the model serves). On text models: Meta Llama's ({@code prompt}, {@code max_gen_len}, {@code temperature},
 * {@code top_p}, answered with {@code generation} and token counts), and OpenAI's chat body ({@code messages},
 * answered as OpenAI chat completions answer, as Bedrock does for its OpenAI models). Streamed, every piece is a
 * {@code chunk} event whose {@code bytes} hold one JSON document. On embedding models: Amazon Titan Text Embeddings
 * V2's ({@code inputText}, answered with {@code embedding} and {@code inputTextTokenCount}) and Cohere Embed's
 * ({@code texts} and {@code input_type}, answered with {@code embeddings}); as on Bedrock, these are not streamed.
 */
public final class InvokeResource implements Routes {
    private final InferencePipeline pipeline;
    private final Clock clock;

    public InvokeResource(InferencePipeline pipeline, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/model/{modelId}/invoke", ctx -> invoke(ctx, false));
        routes.postCall("/model/{modelId}/invoke-with-response-stream", ctx -> invoke(ctx, true));
    }

    private void invoke(Context ctx, boolean stream) {
        CallListener listener = RequestAudit.listener(ctx);
        String model = BedrockModels.modelName(ctx.pathParam("modelId"));
        listener.model(model);
        // No Content-Type check here: the body is the model's own bytes, which the AWS SDKs send as
        // application/octet-stream unless the caller names a contentType; it is read as JSON all the same.
        JsonNode body = WireJson.tree(ctx.bodyAsBytes());
        boolean embeddingModel = pipeline.embeds(Authentication.principal(ctx), model, listener);
        InvokeBody kind = InvokeBody.of(body, model, embeddingModel);
        if (kind.embeddings() && stream) {
            throw FactoryException.invalidParam("body", "the model '" + model + "' is an embedding model, which "
                    + "InvokeModel answers whole; InvokeModelWithResponseStream does not serve it");
        }
        switch (kind) {
            case LLAMA -> llama(ctx, model, body, stream, listener);
            case OPENAI_CHAT -> openAiChat(ctx, model, body, stream, listener);
            case TITAN_EMBEDDINGS -> titan(ctx, model, body, listener);
            case COHERE_EMBED -> cohere(ctx, model, body, listener);
        }
    }

    private void titan(Context ctx, String model, JsonNode body, CallListener listener) {
        long start = clock.millis();
        TitanEmbeddingsCodec.Decoded request = TitanEmbeddingsCodec.decode(model,
                WireJson.bind(body, TitanEmbeddingsBody.Request.class));
        Embeddings result = TitanEmbeddingsCodec.naming(() -> pipeline.embed(Authentication.principal(ctx),
                request.call(), listener));
        embedded(ctx, result, start);
        ctx.json(TitanEmbeddingsCodec.response(request, result));
    }

    private void cohere(Context ctx, String model, JsonNode body, CallListener listener) {
        long start = clock.millis();
        CohereEmbedCodec.Decoded request = CohereEmbedCodec.decode(model,
                WireJson.bind(body, CohereEmbedBody.Request.class));
        Embeddings result = CohereEmbedCodec.naming(() -> pipeline.embed(Authentication.principal(ctx),
                request.call(), listener));
        embedded(ctx, result, start);
        ctx.json(CohereEmbedCodec.response(request, UUID.randomUUID().toString(), result));
    }

    /** The counts Bedrock reports in response headers of InvokeModel, for an embedding call. */
    private void embedded(Context ctx, Embeddings result, long start) {
        ctx.header("X-Amzn-Bedrock-Input-Token-Count", Integer.toString(result.promptTokens()));
        ctx.header("X-Amzn-Bedrock-Invocation-Latency", Long.toString(clock.millis() - start));
    }

    private void openAiChat(Context ctx, String model, JsonNode body, boolean stream, CallListener listener) {
        ChatCodec.Decoded request = ChatCodec.decode(WireJson.bind(((ObjectNode) body.deepCopy()).put("model", model),
                ChatCompletionRequest.class));
        if (request.stream() && !stream) {
            throw FactoryException.invalidParam("stream", "'stream' needs InvokeModelWithResponseStream");
        }
        InferenceRuns runs = ChatCodec.FIELDS.apply(() -> pipeline.start(Authentication.principal(ctx),
                List.of(request.call()), request.n(), listener));
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        if (!stream) {
            ctx.json(ChatCodec.completion(id, created, model, request, runs.collect()));
            return;
        }
        AwsEventStream events = events(ctx);
        events.guard(() -> {
            ChatCodec.Stream chunks = new ChatCodec.Stream(id, created, model, request, chunk -> chunk(events, chunk));
            chunks.start();
            // OpenAI's [DONE] has no counterpart: the event stream just ends.
            chunks.end(runs.forEach(chunks, events::keepAlive));
        });
    }

    private void llama(Context ctx, String model, JsonNode body, boolean stream, CallListener listener) {
        long start = clock.millis();
        InferenceRun run = LlamaCodec.FIELDS.apply(() -> pipeline.start(Authentication.principal(ctx),
                LlamaCodec.decode(model, WireJson.bind(body, LlamaBody.Request.class)), listener));
        if (!stream) {
            LlamaBody.Response response = LlamaCodec.response(run.collect());
            // The counts Bedrock reports in response headers of InvokeModel.
            ctx.header("X-Amzn-Bedrock-Input-Token-Count", String.valueOf(response.promptTokenCount()));
            ctx.header("X-Amzn-Bedrock-Output-Token-Count", Integer.toString(response.generationTokenCount()));
            ctx.header("X-Amzn-Bedrock-Invocation-Latency", Long.toString(clock.millis() - start));
            ctx.json(response);
            return;
        }
        AwsEventStream events = events(ctx);
        events.guard(() -> run.forEach(new LlamaCodec.Stream(chunk -> chunk(events, chunk), run.promptTokens(),
                () -> clock.millis() - start), events::keepAlive));
    }

    private static AwsEventStream events(Context ctx) {
        return new AwsEventStream(ctx, e -> BedrockErrors.streamType(e).eventName());
    }

    /** One {@code chunk} event: the JSON document, base64-encoded in {@code bytes}. */
    private static void chunk(AwsEventStream events, Object document) {
        try {
            events.event("chunk", Map.of("bytes", Base64.getEncoder().encodeToString(Json.mapper().writeValueAsBytes(document))));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("chunk is not serialisable", e);
        }
    }
}
