package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.GenerationRun;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.HttpMetrics;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.api.SseStream;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.security.Action;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** OpenAI's legacy {@code POST /v1/completions}: a raw prompt (text or token ids), no chat template. */
public final class CompletionsResource implements Routes {
    /** OpenAI's default when {@code max_tokens} is not given. */
    private static final int DEFAULT_MAX_TOKENS = 16;

    private final Deployments deployments;
    private final Clock clock;
    private final Duration generationTimeout;

    private final Access access;

    public CompletionsResource(Deployments deployments, Clock clock, Duration generationTimeout, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.generationTimeout = requireNonNull(generationTimeout, "generationTimeout is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/v1/completions", Action.INVOKE, this::create);
    }

    private void create(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        String model = JsonBodies.requiredString(body, "model");
        HttpMetrics.model(ctx, model);
        JsonNode promptNode = body.get("prompt");
        TextRequests.requireSingleChoice(body);
        if (body.hasNonNull("suffix")) {
            throw FactoryException.invalidParam("suffix", "'suffix' (fill-in-the-middle) is not supported");
        }
        boolean stream = TextRequests.flag(body, "stream");
        boolean includeUsage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
        boolean echo = TextRequests.flag(body, "echo");
        int logprobs = JsonBodies.optionalInt(body, "logprobs").orElse(-1);
        if (logprobs > 5) {
            throw FactoryException.invalidParam("logprobs", "'logprobs' must be between 0 and 5");
        }
        var sampling = TextRequests.sampling(body);
        var stop = TextRequests.stop(body);
        int maxTokens = TextRequests.maxTokens(body, DEFAULT_MAX_TOKENS, "max_tokens");
        boolean ignoreEos = TextRequests.flag(body, "ignore_eos");

        access.invoke(ctx, model);
        TextEngine engine = deployments.textEngine(model);
        int[] prompt = prompt(engine, promptNode);
        String promptText = echo ? engine.detokenize(prompt) : "";
        Generation generation = engine.submit(new GenerationRequest(prompt, sampling, maxTokens, stop, ignoreEos,
                logprobs >= 0, Math.max(logprobs, 0)));
        RequestAudit.submitted(ctx, prompt.length);
        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        if (stream) {
            SseStream sse = new SseStream(ctx);
            if (echo) {
                sse.send(chunk(id, created, model, promptText, null, null));
            }
            TokenEvent.Done done = GenerationRun.drive(generation, RequestAudit.capture(ctx, t -> {
                if (!t.text().isEmpty() || logprobs >= 0) {
                    sse.send(chunk(id, created, model, t.text(), logprobs >= 0 ? logprobs(List.of(t)) : null, null));
                }
            }), sse::keepAlive, generationTimeout);
            RequestAudit.usage(ctx, done.promptTokens(), done.completionTokens());
            sse.send(chunk(id, created, model, "", null, GenerationRun.finishReason(done)));
            if (includeUsage) {
                Map<String, Object> usage = ChatCompletionsResource.envelope(id, "text_completion", created, model);
                usage.put("choices", List.of());
                usage.put("usage", ChatCompletionsResource.usage(done));
                sse.send(usage);
            }
            sse.done();
            return;
        }
        GenerationRun.Result r = GenerationRun.collect(generation, generationTimeout, RequestAudit.capture(ctx, t -> { }));
        RequestAudit.generated(ctx, r);
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("text", promptText + r.text());
        choice.put("index", 0);
        choice.put("logprobs", logprobs >= 0 ? logprobs(r.tokens()) : null);
        choice.put("finish_reason", GenerationRun.finishReason(r.done()));
        Map<String, Object> out = ChatCompletionsResource.envelope(id, "text_completion", created, model);
        out.put("choices", List.of(choice));
        out.put("usage", ChatCompletionsResource.usage(r.done()));
        ctx.json(out);
    }

    /** A prompt is a string, an array of one string, or an array of token ids. */
    private static int[] prompt(TextEngine engine, JsonNode node) {
        if (node == null || node.isNull()) {
            throw FactoryException.invalidParam("prompt", "'prompt' is required");
        }
        if (node.isArray() && node.size() == 1 && node.get(0).isTextual()) {
            node = node.get(0);
        }
        if (node.isTextual()) {
            if (node.asText().isEmpty()) {
                throw FactoryException.invalidParam("prompt", "'prompt' is empty");
            }
            return engine.tokenize(node.asText(), engine.info().addBos(), false);
        }
        if (!node.isArray() || node.isEmpty()) {
            throw FactoryException.invalidParam("prompt", "'prompt' must be a string, or an array of token ids");
        }
        int vocab = engine.info().vocabularySize();
        int[] tokens = new int[node.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = node.get(i);
            if (t.isTextual()) {
                throw FactoryException.invalidParam("prompt", "only one prompt per request is supported");
            }
            if (!t.isInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                throw FactoryException.invalidParam("prompt", "prompt[" + i + "] must be a token id between 0 and "
                        + (vocab - 1));
            }
            tokens[i] = t.asInt();
        }
        return tokens;
    }

    private static Map<String, Object> chunk(String id, long created, String model, String text, Object logprobs,
                                             String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("text", text);
        choice.put("index", 0);
        choice.put("logprobs", logprobs);
        choice.put("finish_reason", finishReason);
        Map<String, Object> out = ChatCompletionsResource.envelope(id, "text_completion", created, model);
        out.put("choices", List.of(choice));
        return out;
    }

    /** The legacy logprobs shape: parallel arrays of tokens, their log-probabilities and top alternatives. */
    private static Map<String, Object> logprobs(List<TokenEvent.Token> tokens) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tokens", tokens.stream().map(TokenEvent.Token::text).toList());
        out.put("token_logprobs", tokens.stream().map(TokenEvent.Token::logprob).toList());
        out.put("top_logprobs", tokens.stream().map(t -> {
            Map<String, Float> top = new LinkedHashMap<>();
            t.top().forEach(a -> top.put(a.text(), a.logprob()));
            return top;
        }).toList());
        int offset = 0;
        List<Integer> offsets = new java.util.ArrayList<>();
        for (TokenEvent.Token t : tokens) {
            offsets.add(offset);
            offset += t.text().length();
        }
        out.put("text_offset", offsets);
        return out;
    }
}
