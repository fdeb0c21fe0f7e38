package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.SseStream;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.ResponseEvent;
import ai.factory.api.codec.openai.ResponseObject;
import ai.factory.api.codec.openai.ResponseRequest;
import ai.factory.api.codec.openai.ResponsesCodec;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRun;
import ai.factory.security.Action;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;

/** OpenAI's {@code POST /v1/responses} (the Responses API), stateless, streamed as its typed events or not. */
public final class ResponsesResource implements Routes {
    private final InferencePipeline pipeline;
    private final Clock clock;

    public ResponsesResource(InferencePipeline pipeline, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/v1/responses", Action.INVOKE, Contract.of("Creates a model response (Responses API, stateless; "
                + "streamed as its typed events with stream: true)", ResponseRequest.class, ResponseObject.class)
                .streaming(ResponseEvent.class), this::create);
    }

    private void create(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        JsonNode body = WireJson.tree(ctx.bodyAsBytes());
        OpenAiBodies.reportModel(body, listener);
        ResponsesCodec.Decoded request = ResponsesCodec.decode(WireJson.bind(body, ResponseRequest.class));
        InferenceRun run = ResponsesCodec.FIELDS.apply(() -> pipeline.start(Authentication.principal(ctx), request.call(),
                listener));
        String id = ResponsesCodec.id("resp");
        long createdAt = clock.instant().getEpochSecond();
        if (!request.stream()) {
            ctx.json(ResponsesCodec.response(id, createdAt, request, run.collect()));
            return;
        }
        ResponsesCodec.Sequence sequence = new ResponsesCodec.Sequence();
        SseStream sse = SseStream.named(ctx, "error", e -> ResponsesCodec.error(e, sequence));
        ResponsesCodec.Stream events = new ResponsesCodec.Stream(id, createdAt, request, sequence,
                event -> sse.send(event.type(), event));
        sse.guard(() -> {
            events.start();
            run.forEach(events, sse::keepAlive);
        });
    }
}
