package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.SseStream;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.openai.ResponseDeleted;
import ai.factory.api.codec.openai.ResponseEvent;
import ai.factory.api.codec.openai.ResponseObject;
import ai.factory.api.codec.openai.ResponseRequest;
import ai.factory.api.codec.openai.ResponsesCodec;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRun;
import ai.factory.inference.ResponseStore;
import ai.factory.security.Action;
import ai.factory.identity.Principal;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.List;

/**
 * OpenAI's Responses API: {@code POST /v1/responses}, streamed as its typed events or not, and the kept responses
 * ({@code GET} and {@code DELETE /v1/responses/{id}}, {@code previous_response_id}). A response is kept when the
 * request does not say {@code store: false} and the caller's project keeps the text of its calls (content logging,
 * see {@link ResponseStore}); the answer's {@code store} says whether it was. Kept responses are the project's: a
 * caller of another project finds none.
 */
public final class ResponsesResource implements Routes {
    private final InferencePipeline pipeline;
    private final ResponseStore store;
    private final Clock clock;

    public ResponsesResource(InferencePipeline pipeline, ResponseStore store, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/v1/responses", Contract.of("Creates a model response (Responses API; streamed as "
                + "its typed events with stream: true)", ResponseRequest.class, ResponseObject.class)
                .streaming(ResponseEvent.class), this::create);
        routes.get("/v1/responses/{id}", Action.INVOKE, Contract.of("A kept response of the caller's project",
                null, ResponseObject.class), this::get);
        routes.delete("/v1/responses/{id}", Action.INVOKE, Contract.of("Destroys a kept response of the caller's project",
                null, ResponseDeleted.class), this::delete);
    }

    private void create(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        JsonNode body = WireJson.tree(ctx.bodyAsBytes());
        OpenAiBodies.reportModel(body, listener);
        ResponseRequest r = WireJson.bind(body, ResponseRequest.class);
        Principal caller = Authentication.principal(ctx);
        List<JsonNode> history = r.previousResponseId() == null ? List.of()
                : ResponsesCodec.conversation(kept(caller, r.previousResponseId(), "previous_response_id"));
        ResponsesCodec.Decoded request = ResponsesCodec.decode(r, history);
        boolean keep = !Boolean.FALSE.equals(r.store()) && store.keeps(caller.project());
        InferenceRun run = ResponsesCodec.FIELDS.apply(() -> pipeline.start(caller, request.call(), listener));
        String id = ResponsesCodec.id("resp");
        long createdAt = clock.instant().getEpochSecond();
        if (!request.stream()) {
            ResponseObject response = ResponsesCodec.response(id, createdAt, request, run.collect(), keep);
            if (keep) {
                store.put(caller.project(), id, ResponsesCodec.stored(request, response));
            }
            ctx.json(response);
            return;
        }
        ResponsesCodec.Sequence sequence = new ResponsesCodec.Sequence();
        SseStream sse = SseStream.named(ctx, "error", e -> ResponsesCodec.error(e, sequence));
        ResponsesCodec.Stream events = new ResponsesCodec.Stream(id, createdAt, request, keep, sequence,
                event -> sse.send(event.type(), event));
        sse.guard(() -> {
            events.start();
            run.forEach(events, sse::keepAlive);
            if (keep) {
                store.put(caller.project(), id, ResponsesCodec.stored(request, events.finished()));
            }
        });
    }

    private void get(Context ctx) {
        ctx.json(kept(Authentication.principal(ctx), ctx.pathParam("id"), "id").response());
    }

    private void delete(Context ctx) {
        String id = ctx.pathParam("id");
        if (!store.delete(Authentication.principal(ctx).project(), id)) {
            throw notFound(id, "id");
        }
        ctx.json(ResponseDeleted.of(id));
    }

    private ResponsesCodec.Stored kept(Principal caller, String id, String field) {
        return store.get(caller.project(), id).map(ResponsesCodec::read).orElseThrow(() -> notFound(id, field));
    }

    private static FactoryException notFound(String id, String field) {
        return FactoryException.about(ErrorCode.NOT_FOUND, field, "no kept response '" + id + "' in your project: "
                + "responses are kept only where the project logs the content of its calls, until the site's content "
                + "retention ends, and only when the request did not say store: false");
    }
}
