package ai.factory.api.openai;

import ai.factory.api.codec.openai.OpenAiErrors;
import static java.util.Objects.requireNonNull;

import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.ErrorResponses;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.SseStream;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.CompletionCodec;
import ai.factory.api.codec.openai.CompletionRequest;
import ai.factory.api.codec.openai.TextCompletion;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRuns;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.UUID;

/**
 * OpenAI's legacy {@code POST /v1/completions}: raw prompts (text or token ids, one or an array of them), no chat
 * template, with {@code n} choices per prompt.
 */
public final class CompletionsResource implements Routes {
    private final InferencePipeline pipeline;
    private final Clock clock;

    public CompletionsResource(InferencePipeline pipeline, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/v1/completions", Contract.of("Creates completions of raw prompts (legacy): a "
                + "string, an array of strings, token ids or token-id arrays, with n choices per prompt",
                CompletionRequest.class, TextCompletion.class).streaming(TextCompletion.class), this::create);
    }

    private void create(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        JsonNode body = WireJson.tree(ctx.bodyAsBytes());
        OpenAiBodies.reportModel(body, listener);
        CompletionCodec.Decoded request = CompletionCodec.decode(WireJson.bind(body, CompletionRequest.class));
        InferenceRuns runs = pipeline.start(Authentication.principal(ctx), request.calls(), request.n(), listener);
        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        String model = request.model();
        if (!request.stream()) {
            ctx.json(CompletionCodec.completion(id, created, model, request, runs::promptText, runs.collect()));
            return;
        }
        SseStream sse = new SseStream(ctx, OpenAiErrors::error);
        sse.guard(() -> {
            CompletionCodec.Stream chunks = new CompletionCodec.Stream(id, created, model, request, sse::send);
            chunks.start(runs::promptText);
            chunks.end(runs.forEach(chunks, sse::keepAlive));
            sse.done();
        });
    }
}
