package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.ChunkStream;
import ai.factory.api.GenerationRun;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.HttpMetrics;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.api.SseStream;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.security.Action;
import ai.factory.serving.ChatPrompts;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/** OpenAI's {@code POST /v1/chat/completions}, streamed (SSE) or not. */
public final class ChatCompletionsResource implements Routes {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final Deployments deployments;
    private final ChatPrompts prompts;
    private final Clock clock;
    private final Duration generationTimeout;

    private final Access access;

    public ChatCompletionsResource(Deployments deployments, ChatPrompts prompts, Clock clock, Duration generationTimeout, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.prompts = requireNonNull(prompts, "prompts is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.generationTimeout = requireNonNull(generationTimeout, "generationTimeout is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/v1/chat/completions", Action.INVOKE, this::create);
    }

    private void create(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        String model = JsonBodies.requiredString(body, "model");
        respond(ctx, model, body, TextRequests.flag(body, "stream"), SseStream::new);
    }

    /**
     * Answers an OpenAI chat request body for {@code model} as OpenAI does: the completion as JSON, or, when
     * {@code stream}, its chunks into the stream {@code opener} starts. Other APIs that carry OpenAI bodies
     * (Bedrock's InvokeModel) use it too.
     */
    public void respond(Context ctx, String model, JsonNode body, boolean stream,
                        Function<Context, ? extends ChunkStream> opener) {
        HttpMetrics.model(ctx, model);
        ChatRequest request = ChatRequest.parse(body, stream);
        boolean logprobs = request.logprobs();
        boolean includeUsage = request.includeUsage();

        access.invoke(ctx, model);
        TextEngine engine = deployments.textEngine(model);
        int[] prompt = prompts.tokens(engine, request.messages());
        Generation generation = engine.submit(new GenerationRequest(prompt, request.sampling(), request.maxTokens(),
                request.stop(), request.ignoreEos(), logprobs, request.topLogprobs()));
        RequestAudit.submitted(ctx, prompt.length);
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        if (stream) {
            stream(ctx, opener.apply(ctx), generation, id, created, model, logprobs, includeUsage);
            return;
        }
        GenerationRun.Result r = GenerationRun.collect(generation, generationTimeout, RequestAudit.capture(ctx, t -> { }));
        RequestAudit.generated(ctx, r);
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        message.put("content", r.text());
        message.put("refusal", null);
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("message", message);
        choice.put("logprobs", logprobs ? Map.of("content", r.tokens().stream().map(ChatCompletionsResource::logprob).toList()) : null);
        choice.put("finish_reason", GenerationRun.finishReason(r.done()));
        Map<String, Object> out = envelope(id, "chat.completion", created, model);
        out.put("choices", List.of(choice));
        out.put("usage", usage(r.done()));
        ctx.json(out);
    }

    /** What a chat request body asks for, checked field by field; everything but the model and {@code stream}. */
    record ChatRequest(List<ChatMessage> messages, SamplingParams sampling, List<String> stop, int maxTokens,
                       boolean ignoreEos, boolean logprobs, int topLogprobs, boolean includeUsage) {
        static ChatRequest parse(JsonNode body, boolean stream) {
            List<ChatMessage> messages = ChatCompletionsResource.messages(body.get("messages"));
            TextRequests.requireSingleChoice(body);
            rejectUnsupported(body);
            boolean includeUsage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
            boolean logprobs = TextRequests.flag(body, "logprobs");
            int topLogprobs = JsonBodies.optionalInt(body, "top_logprobs").orElse(0);
            if (topLogprobs > 0 && !logprobs) {
                throw FactoryException.invalidParam("top_logprobs", "'top_logprobs' needs 'logprobs': true");
            }
            SamplingParams sampling = TextRequests.sampling(body);
            List<String> stop = TextRequests.stop(body);
            int maxTokens = TextRequests.maxTokens(body, 0, "max_completion_tokens", "max_tokens");
            boolean ignoreEos = TextRequests.flag(body, "ignore_eos");
            return new ChatRequest(messages, sampling, stop, maxTokens, ignoreEos, logprobs, topLogprobs, includeUsage);
        }
    }

    private void stream(Context ctx, ChunkStream sse, Generation generation, String id, long created, String model,
                               boolean logprobs, boolean includeUsage) {
        sse.send(chunk(id, created, model, Map.of("role", "assistant", "content", ""), null, null));
        TokenEvent.Done done = GenerationRun.drive(generation, RequestAudit.capture(ctx, t -> {
            if (!t.text().isEmpty() || logprobs) {
                sse.send(tokenChunk(id, created, model, t, logprobs));
            }
        }), sse::keepAlive, generationTimeout);
        RequestAudit.usage(ctx, done.promptTokens(), done.completionTokens());
        sse.send(chunk(id, created, model, Map.of(), null, GenerationRun.finishReason(done)));
        if (includeUsage) {
            Map<String, Object> usage = envelope(id, "chat.completion.chunk", created, model);
            usage.put("choices", List.of());
            usage.put("usage", usage(done));
            sse.send(usage);
        }
        sse.done();
    }

    /** The {@code chat.completion.chunk} that streams one token (its text, and its logprobs when asked for). */
    static Map<String, Object> tokenChunk(String id, long created, String model, TokenEvent.Token t, boolean logprobs) {
        return chunk(id, created, model, Map.of("content", t.text()),
                logprobs ? Map.of("content", List.of(logprob(t))) : null, null);
    }

    private static Map<String, Object> chunk(String id, long created, String model, Map<String, Object> delta,
                                             Object logprobs, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("logprobs", logprobs);
        choice.put("finish_reason", finishReason);
        Map<String, Object> out = envelope(id, "chat.completion.chunk", created, model);
        out.put("choices", List.of(choice));
        return out;
    }

    static Map<String, Object> envelope(String id, String object, long created, String model) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("object", object);
        out.put("created", created);
        out.put("model", model);
        out.put("system_fingerprint", "factory");
        return out;
    }

    static Map<String, Object> usage(TokenEvent.Done done) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", done.promptTokens());
        usage.put("completion_tokens", done.completionTokens());
        usage.put("total_tokens", done.promptTokens() + done.completionTokens());
        usage.put("prompt_tokens_details", Map.of("cached_tokens", done.cachedPromptTokens()));
        return usage;
    }

    private static Map<String, Object> logprob(TokenEvent.Token t) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("token", t.text());
        out.put("logprob", t.logprob());
        out.put("bytes", bytes(t.text()));
        out.put("top_logprobs", t.top().stream().map(a -> Map.of("token", a.text(), "logprob", a.logprob(),
                "bytes", bytes(a.text()))).toList());
        return out;
    }

    private static List<Integer> bytes(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            out.add(b & 0xff);
        }
        return out;
    }

    private static void rejectUnsupported(JsonNode body) {
        JsonNode format = body.path("response_format");
        if (!format.isMissingNode() && !format.isNull() && !"text".equals(format.path("type").asText())) {
            throw FactoryException.invalidParam("response_format",
                    "only response_format {\"type\": \"text\"} is supported for now");
        }
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
            throw FactoryException.invalidParam("tools", "tool calling is not supported yet");
        }
    }

    private static List<ChatMessage> messages(JsonNode node) {
        if (node == null || node.isNull()) {
            throw FactoryException.invalidParam("messages", "'messages' is required: an array of {role, content}");
        }
        if (!node.isArray() || node.isEmpty()) {
            throw FactoryException.invalidParam("messages", "'messages' must be a non-empty array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode m = node.get(i);
            if (!m.isObject()) {
                throw FactoryException.invalidParam("messages", "messages[" + i + "] must be an object");
            }
            String role = m.path("role").asText("");
            if (!m.path("role").isTextual() || !ROLES.contains(role)) {
                throw FactoryException.invalidParam("messages", "messages[" + i + "].role must be one of "
                        + "system, developer, user, assistant, tool");
            }
            String name = m.path("name").isTextual() ? m.path("name").asText() : null;
            out.add(new ChatMessage("developer".equals(role) ? "system" : role, content(m.get("content"), i), name));
        }
        return out;
    }

    /** OpenAI content is a string or an array of parts; text parts are joined, other kinds are refused. */
    private static String content(JsonNode content, int i) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw FactoryException.invalidParam("messages", "messages[" + i + "].content must be a string or an array of parts");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode part : content) {
            String type = part.path("type").asText("");
            if (!"text".equals(type) || !part.path("text").isTextual()) {
                throw FactoryException.invalidParam("messages", "messages[" + i + "] has a content part of type '"
                        + type + "'; only text parts are supported");
            }
            text.append(part.path("text").asText());
        }
        return text.toString();
    }
}
