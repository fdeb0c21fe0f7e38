package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.Access;
import ai.factory.api.AwsEventStream;
import ai.factory.api.ChunkStream;
import ai.factory.api.GenerationRun;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.HttpMetrics;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.api.openai.ChatCompletionsResource;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.security.Action;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Amazon Bedrock's {@code POST /model/{modelId}/invoke} and {@code /invoke-with-response-stream}, whose body is
 * the model's own. Two bodies are understood: Meta Llama's ({@code prompt}, {@code max_gen_len},
 * {@code temperature}, {@code top_p}, answered with {@code generation} and token counts), and OpenAI's chat
 * body ({@code messages}, answered as OpenAI chat completions answer). Streamed, every piece is a {@code chunk}
 * event whose {@code bytes} hold one JSON document, as Bedrock sends them.
 */
public final class InvokeResource implements Routes {
    /** Meta's defaults on Bedrock when the body leaves them out. */
    private static final int LLAMA_MAX_GEN_LEN = 512;
    private static final double LLAMA_TEMPERATURE = 0.5;
    private static final double LLAMA_TOP_P = 0.9;

    private final Deployments deployments;
    private final ChatCompletionsResource chat;
    private final Clock clock;
    private final Duration generationTimeout;

    private final Access access;

    public InvokeResource(Deployments deployments, ChatCompletionsResource chat, Clock clock, Duration generationTimeout, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.chat = requireNonNull(chat, "chat is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.generationTimeout = requireNonNull(generationTimeout, "generationTimeout is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/model/{modelId}/invoke", Action.INVOKE, ctx -> invoke(ctx, false));
        routes.post("/model/{modelId}/invoke-with-response-stream", Action.INVOKE, ctx -> invoke(ctx, true));
    }

    private void invoke(Context ctx, boolean stream) {
        String model = BedrockModels.modelName(ctx.pathParam("modelId"));
        HttpMetrics.model(ctx, model);
        JsonNode body = JsonBodies.object(ctx);
        if (body.has("messages")) {
            openAiChat(ctx, model, body, stream);
        } else if (body.has("prompt")) {
            llama(ctx, model, body, stream);
        } else {
            throw FactoryException.invalidParam("body", "the body must be Meta Llama's ({\"prompt\": …}) or OpenAI "
                    + "chat's ({\"messages\": […]}); other model bodies are not understood");
        }
    }

    private void openAiChat(Context ctx, String model, JsonNode body, boolean stream) {
        if (!stream && body.path("stream").asBoolean(false)) {
            throw FactoryException.invalidParam("stream", "'stream' needs InvokeModelWithResponseStream");
        }
        ChunkEvents[] opened = new ChunkEvents[1];
        try {
            chat.respond(ctx, model, body, stream, c -> opened[0] = new ChunkEvents(new AwsEventStream(c)));
        } catch (FactoryException e) {
            if (opened[0] == null) {
                throw e;
            }
            opened[0].events.exception(BedrockErrors.streamType(e).eventName(), e.getMessage());
        }
    }

    private void llama(Context ctx, String model, JsonNode body, boolean stream) {
        long start = clock.millis();
        JsonNode prompt = body.get("prompt");
        if (!prompt.isTextual() || prompt.asText().isEmpty()) {
            throw FactoryException.invalidParam("prompt", "'prompt' must be a non-empty string");
        }
        if (body.hasNonNull("images")) {
            throw FactoryException.invalidParam("images", "images are not supported");
        }
        int maxTokens = JsonBodies.optionalInt(body, "max_gen_len").orElse(LLAMA_MAX_GEN_LEN);
        if (maxTokens < 1) {
            throw FactoryException.invalidParam("max_gen_len", "'max_gen_len' must be at least 1");
        }
        SamplingParams sampling = new SamplingParams((float) number(body, "temperature", LLAMA_TEMPERATURE),
                (float) number(body, "top_p", LLAMA_TOP_P), 0, 0f, 1f, 0f, 0f, 64, null);

        access.invoke(ctx, model);
        TextEngine engine = deployments.textEngine(model);
        String text = prompt.asText();
        // Llama prompts on Bedrock are written with the special tokens of the chat format, BOS included or not.
        boolean addBos = engine.info().addBos()
                && (engine.info().bosText().isEmpty() || !text.startsWith(engine.info().bosText()));
        int[] tokens = engine.tokenize(text, addBos, true);
        Generation generation = engine.submit(new GenerationRequest(tokens, sampling, maxTokens, List.of(), false,
                false, 0));
        RequestAudit.submitted(ctx, tokens.length);
        if (!stream) {
            GenerationRun.Result r = GenerationRun.collect(generation, generationTimeout, RequestAudit.capture(ctx, t -> { }));
            RequestAudit.generated(ctx, r);
            tokenHeaders(ctx, r.done(), clock.millis() - start);
            ctx.json(llamaBody(r.text(), r.done().promptTokens(), r.done().completionTokens(), llamaStop(r.done())));
            return;
        }
        AwsEventStream events = new AwsEventStream(ctx);
        try {
            int[] generated = {0};
            TokenEvent.Done done = GenerationRun.drive(generation, RequestAudit.capture(ctx, t -> {
                generated[0]++;
                if (!t.text().isEmpty()) {
                    chunk(events, llamaBody(t.text(), generated[0] == 1 ? tokens.length : null, generated[0], null));
                }
            }), null, generationTimeout);
            RequestAudit.usage(ctx, done.promptTokens(), done.completionTokens());
            Map<String, Object> last = llamaBody("", null, done.completionTokens(), llamaStop(done));
            last.put("amazon-bedrock-invocationMetrics", Map.of("inputTokenCount", done.promptTokens(),
                    "outputTokenCount", done.completionTokens(), "invocationLatency", clock.millis() - start));
            chunk(events, last);
        } catch (FactoryException e) {
            events.exception(BedrockErrors.streamType(e).eventName(), e.getMessage());
        }
    }

    private static Map<String, Object> llamaBody(String generation, Integer promptTokens, int generationTokens,
                                                 String stopReason) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("generation", generation);
        out.put("prompt_token_count", promptTokens);
        out.put("generation_token_count", generationTokens);
        out.put("stop_reason", stopReason);
        return out;
    }

    private static String llamaStop(TokenEvent.Done done) {
        return done.reason() == TokenEvent.FinishReason.LENGTH ? "length" : "stop";
    }

    /** The counts Bedrock reports in response headers of InvokeModel. */
    private static void tokenHeaders(Context ctx, TokenEvent.Done done, long latencyMs) {
        ctx.header("X-Amzn-Bedrock-Input-Token-Count", Integer.toString(done.promptTokens()));
        ctx.header("X-Amzn-Bedrock-Output-Token-Count", Integer.toString(done.completionTokens()));
        ctx.header("X-Amzn-Bedrock-Invocation-Latency", Long.toString(latencyMs));
    }

    private static double number(JsonNode body, String field, double defaultValue) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isNumber()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be a number, not " + JsonBodies.kind(v));
        }
        return v.asDouble();
    }

    /** One {@code chunk} event: the JSON document, base64-encoded in {@code bytes}. */
    private static void chunk(AwsEventStream events, Object document) {
        try {
            events.event("chunk", Map.of("bytes", Base64.getEncoder().encodeToString(Json.mapper().writeValueAsBytes(document))));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("chunk is not serialisable", e);
        }
    }

    /** OpenAI chunks as Bedrock chunk events; OpenAI's {@code [DONE]} has no counterpart, the stream just ends. */
    private record ChunkEvents(AwsEventStream events) implements ChunkStream {
        @Override
        public void send(Object chunk) {
            chunk(events, chunk);
        }

        @Override
        public void keepAlive() {}

        @Override
        public void done() {}
    }
}
