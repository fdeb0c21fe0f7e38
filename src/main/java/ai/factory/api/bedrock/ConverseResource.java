package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.AwsEventStream;
import ai.factory.api.GenerationRun;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.HttpMetrics;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.security.Action;
import ai.factory.serving.ChatPrompts;
import ai.factory.serving.Deployments;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Amazon Bedrock's {@code POST /model/{modelId}/converse} and {@code /converse-stream}. The model id is the
 * factory's model name ({@code ns/model} or {@code ns/model:version}), URL-encoded in the path as the AWS SDKs
 * send it. The conversation goes through the model's own chat template, exactly as OpenAI chat does.
 */
public final class ConverseResource implements Routes {
    private final Deployments deployments;
    private final ChatPrompts prompts;
    private final Clock clock;
    private final Duration generationTimeout;

    private final Access access;

    public ConverseResource(Deployments deployments, ChatPrompts prompts, Clock clock, Duration generationTimeout, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.prompts = requireNonNull(prompts, "prompts is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.generationTimeout = requireNonNull(generationTimeout, "generationTimeout is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/model/{modelId}/converse", Action.INVOKE, this::converse);
        routes.post("/model/{modelId}/converse-stream", Action.INVOKE, this::converseStream);
    }

    private void converse(Context ctx) {
        long start = clock.millis();
        Generation generation = submit(ctx);
        GenerationRun.Result r = GenerationRun.collect(generation, generationTimeout, RequestAudit.capture(ctx, t -> { }));
        RequestAudit.generated(ctx, r);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("output", Map.of("message", Map.of("role", "assistant", "content", List.of(Map.of("text", r.text())))));
        out.put("stopReason", stopReason(r.done()));
        out.put("usage", usage(r.done()));
        out.put("metrics", Map.of("latencyMs", clock.millis() - start));
        ctx.json(out);
    }

    private void converseStream(Context ctx) {
        long start = clock.millis();
        Generation generation = submit(ctx);
        AwsEventStream stream = new AwsEventStream(ctx);
        try {
            stream.event("messageStart", Map.of("role", "assistant"));
            TokenEvent.Done done = GenerationRun.drive(generation, RequestAudit.capture(ctx, t -> {
                if (!t.text().isEmpty()) {
                    stream.event("contentBlockDelta", Map.of("contentBlockIndex", 0, "delta", Map.of("text", t.text())));
                }
            }), null, generationTimeout);
            RequestAudit.usage(ctx, done.promptTokens(), done.completionTokens());
            stream.event("contentBlockStop", Map.of("contentBlockIndex", 0));
            stream.event("messageStop", Map.of("stopReason", stopReason(done)));
            stream.event("metadata", Map.of("usage", usage(done), "metrics", Map.of("latencyMs", clock.millis() - start)));
        } catch (FactoryException e) {
            // The response has begun: the failure travels as an exception frame, as Bedrock sends it.
            stream.exception(BedrockErrors.streamType(e).eventName(), e.getMessage());
        }
    }

    private Generation submit(Context ctx) {
        String model = BedrockModels.modelName(ctx.pathParam("modelId"));
        HttpMetrics.model(ctx, model);
        ConverseRequest request = ConverseRequest.parse(JsonBodies.object(ctx));
        access.invoke(ctx, model);
        TextEngine engine = deployments.textEngine(model);
        int[] prompt = prompts.tokens(engine, request.messages());
        Generation generation = engine.submit(new GenerationRequest(prompt, request.sampling(), request.maxTokens(),
                request.stop(), false, false, 0));
        RequestAudit.submitted(ctx, prompt.length);
        return generation;
    }

    static String stopReason(TokenEvent.Done done) {
        return switch (done.reason()) {
            case STOP, CANCELLED, ERROR -> "end_turn";
            case STOP_SEQUENCE -> "stop_sequence";
            case LENGTH -> "max_tokens";
        };
    }

    static Map<String, Object> usage(TokenEvent.Done done) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("inputTokens", done.promptTokens());
        usage.put("outputTokens", done.completionTokens());
        usage.put("totalTokens", done.promptTokens() + done.completionTokens());
        return usage;
    }
}
