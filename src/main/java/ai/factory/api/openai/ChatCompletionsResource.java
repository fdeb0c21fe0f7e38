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
import ai.factory.api.codec.openai.ChatCodec;
import ai.factory.api.codec.openai.ChatCompletion;
import ai.factory.api.codec.openai.ChatCompletionChunk;
import ai.factory.api.codec.openai.ChatCompletionRequest;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRuns;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.List;
import java.util.UUID;

/** OpenAI's {@code POST /v1/chat/completions}, streamed (SSE) or not, with {@code n} choices. */
public final class ChatCompletionsResource implements Routes {
    private final InferencePipeline pipeline;
    private final Clock clock;

    public ChatCompletionsResource(InferencePipeline pipeline, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/v1/chat/completions", Contract.of("Creates a chat completion with n choices "
                + "(streamed as chat.completion.chunk events with stream: true)", ChatCompletionRequest.class, ChatCompletion.class)
                .streaming(ChatCompletionChunk.class), this::create);
    }

    private void create(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        JsonNode body = WireJson.tree(ctx.bodyAsBytes());
        OpenAiBodies.reportModel(body, listener);
        ChatCodec.Decoded request = ChatCodec.decode(WireJson.bind(body, ChatCompletionRequest.class));
        InferenceRuns runs = ChatCodec.FIELDS.apply(() -> pipeline.start(Authentication.principal(ctx),
                List.of(request.call()), request.n(), listener));
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        String model = request.call().model();
        if (!request.stream()) {
            ctx.json(ChatCodec.completion(id, created, model, request, runs.collect()));
            return;
        }
        SseStream sse = new SseStream(ctx, OpenAiErrors::error);
        sse.guard(() -> {
            ChatCodec.Stream chunks = new ChatCodec.Stream(id, created, model, request, sse::send);
            chunks.start();
            chunks.end(runs.forEach(chunks, sse::keepAlive));
            sse.done();
        });
    }
}
