package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.api.codec.WireJson;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.inference.Completion;
import ai.factory.inference.InferenceCall;
import ai.factory.inference.InferenceEvent;
import ai.factory.inference.InferenceRuns;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.ObjIntConsumer;

/**
 * OpenAI's legacy completions as the factory's calls: raw prompts, no template, no tools. A {@code prompt} array is a
 * call per prompt, and {@code n} choices of each: choice {@code p * n + i} is the {@code i}-th of prompt {@code p}, as
 * OpenAI numbers them.
 */
public final class CompletionCodec {
    /** OpenAI's default when {@code max_tokens} is not given. */
    private static final int DEFAULT_MAX_TOKENS = 16;
    /**
     * The most choices of one request, prompts times {@code n}: each is a sequence the replica must be able to queue
     * at once (64 by default; a deployment with a smaller queue refuses fewer, naming {@code n}).
     */
    static final int MAX_CHOICES = 64;

    private CompletionCodec() {}

    /**
     * A decoded request.
     *
     * @param calls a call per prompt (a {@code prompt} array has several), the same but for the prompt
     * @param n choices per prompt; the answer's choice {@code p * n + i} is the {@code i}-th of prompt {@code p}
     * @param echo the answer starts with the prompt
     * @param logprobs alternatives per token in the answer's logprobs, or -1 for none
     */
    public record Decoded(List<InferenceCall> calls, int n, boolean stream, boolean includeUsage, boolean echo,
                          int logprobs) {
        public Decoded {
            calls = List.copyOf(calls);
        }

        public String model() {
            return calls.getFirst().model();
        }
    }

    public static Decoded decode(CompletionRequest r) {
        String model = Fields.requiredString(r.model(), "model");
        int n = Fields.n(r.n());
        if (r.suffix() != null) {
            throw FactoryException.invalidParam("suffix", "'suffix' (fill-in-the-middle) is not supported");
        }
        int logprobs = r.logprobs() == null ? -1 : r.logprobs();
        if (logprobs < -1 || logprobs > 5) {
            throw FactoryException.invalidParam("logprobs", "'logprobs' must be between 0 and 5");
        }
        List<InferenceCall.Prompt> prompts = prompts(r.prompt());
        if (prompts.size() * n > MAX_CHOICES) {
            throw FactoryException.invalidParam(n == 1 ? "prompt" : "n", ("a request makes at most %d choices "
                    + "(prompts times n), and this one asks for %d prompts times n %d").formatted(MAX_CHOICES,
                    prompts.size(), n));
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        SamplingParams sampling = Fields.sampling(r.temperature(), r.topP(), r.topK(), r.minP(), r.repetitionPenalty(),
                r.presencePenalty(), r.frequencyPenalty(), r.seed());
        int maxTokens = Fields.maxTokens(r.maxTokens(), "max_tokens", DEFAULT_MAX_TOKENS);
        List<String> stop = Fields.stop(r.stop());
        Map<Integer, Float> logitBias = Fields.logitBias(r.logitBias());
        List<InferenceCall> calls = prompts.stream().map(prompt -> new InferenceCall(model, prompt,
                InferenceCall.Tools.NONE, InferenceCall.OutputFormat.TEXT, sampling, maxTokens, stop,
                Boolean.TRUE.equals(r.ignoreEos()), logprobs >= 0, Math.max(logprobs, 0), logitBias,
                r.maxTokens() != null)).toList();
        boolean includeUsage = stream && r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        return new Decoded(calls, n, stream, includeUsage, Boolean.TRUE.equals(r.echo()), logprobs);
    }

    /**
     * OpenAI's four shapes of {@code prompt}: a string, an array of strings, an array of token ids, or an array of
     * token-id arrays; each string or token-id array is a prompt of its own.
     */
    private static List<InferenceCall.Prompt> prompts(JsonNode node) {
        if (node == null || node.isNull()) {
            throw FactoryException.invalidParam("prompt", "'prompt' is required");
        }
        if (node.isTextual()) {
            return List.of(new InferenceCall.Prompt.Text(node.asText(), false));
        }
        if (!node.isArray() || node.isEmpty()) {
            throw FactoryException.invalidParam("prompt", "'prompt' must be a string, an array of strings, an array "
                    + "of token ids or an array of token-id arrays, " + (node.isArray() ? "not an empty array" : "not "
                    + WireJson.kind(node)));
        }
        JsonNode first = node.get(0);
        if (first.isIntegralNumber()) {
            return List.of(tokens(node, "prompt"));
        }
        if (!first.isTextual() && !first.isArray()) {
            throw FactoryException.invalidParam("prompt", "prompt[0] must be a string, a token id or an array of token "
                    + "ids, not " + WireJson.kind(first));
        }
        List<InferenceCall.Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode p = node.get(i);
            String where = "prompt[" + i + "]";
            if (first.isTextual()) {
                if (!p.isTextual()) {
                    throw FactoryException.invalidParam("prompt", where + " must be a string, as prompt[0] is, not "
                            + WireJson.kind(p) + "; an array of prompts holds strings or token-id arrays, not both");
                }
                prompts.add(new InferenceCall.Prompt.Text(p.asText(), false));
            } else {
                if (!p.isArray()) {
                    throw FactoryException.invalidParam("prompt", where + " must be an array of token ids, as prompt[0] "
                            + "is, not " + WireJson.kind(p) + "; an array of prompts holds strings or token-id arrays, not both");
                }
                if (p.isEmpty()) {
                    throw FactoryException.invalidParam("prompt", where + " must not be an empty array");
                }
                prompts.add(tokens(p, where));
            }
        }
        return prompts;
    }

    /** A prompt of token ids; their range is checked against the model's vocabulary later. */
    private static InferenceCall.Prompt tokens(JsonNode node, String where) {
        int[] tokens = new int[node.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = node.get(i);
            if (!t.isInt() || t.asInt() < 0) {
                throw FactoryException.invalidParam("prompt", where + "[" + i + "] must be a token id (an integer from 0), "
                        + "not " + (t.isNumber() ? t.asText() : WireJson.kind(t)) + "; an array of token ids holds nothing else");
            }
            tokens[i] = t.asInt();
        }
        return new InferenceCall.Prompt.Tokens(tokens);
    }

    /** The answer to a request that was not streamed: choice {@code k} continues the prompt of choice {@code k}. */
    public static TextCompletion completion(String id, long created, String model, Decoded request,
                                            IntFunction<String> promptText, InferenceRuns.Collected collected) {
        List<TextCompletion.Choice> choices = new ArrayList<>();
        for (int i = 0; i < collected.choices().size(); i++) {
            Completion c = collected.choices().get(i);
            choices.add(new TextCompletion.Choice((request.echo() ? promptText.apply(i) : "") + c.text(), i,
                    request.logprobs() >= 0 ? logprobs(c.tokens()) : null, finishReason(c.end().reason())));
        }
        return new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT, choices,
                ChatCodec.usage(collected.usage()));
    }

    private static String finishReason(InferenceEvent.Finish finish) {
        return switch (finish) {
            case STOP, STOP_SEQUENCE, CANCELLED, TOOL_CALLS -> "stop";
            case LENGTH -> "length";
        };
    }

    private static TextCompletion.Logprobs logprobs(List<TokenEvent.Token> tokens) {
        List<Map<String, Float>> top = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        int offset = 0;
        for (TokenEvent.Token t : tokens) {
            Map<String, Float> alternatives = new LinkedHashMap<>();
            t.top().forEach(a -> alternatives.put(a.text(), a.logprob()));
            top.add(alternatives);
            offsets.add(offset);
            offset += t.text().length();
        }
        return new TextCompletion.Logprobs(tokens.stream().map(TokenEvent.Token::text).toList(),
                tokens.stream().map(TokenEvent.Token::logprob).toList(), top, offsets);
    }

    /**
     * Writes a streamed answer's events as {@code text_completion} chunks: each carries one choice's text with that
     * choice's index, the choices interleaved as they come, each ending with its own finish chunk; {@link #end}
     * adds the usage chunk when asked for.
     */
    public static final class Stream implements ObjIntConsumer<InferenceEvent> {
        private final String id;
        private final long created;
        private final String model;
        private final Decoded request;
        private final Consumer<Object> out;

        public Stream(String id, long created, String model, Decoded request, Consumer<Object> out) {
            this.id = id;
            this.created = created;
            this.model = model;
            this.request = request;
            this.out = out;
        }

        /** Every choice's echoed prompt, when asked for. */
        public void start(IntFunction<String> promptText) {
            if (request.echo()) {
                for (int i = 0; i < request.calls().size() * request.n(); i++) {
                    send(i, promptText.apply(i), null, null);
                }
            }
        }

        @Override
        public void accept(InferenceEvent event, int choice) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    boolean logprobs = request.logprobs() >= 0 && t.token() != null;
                    if (!t.text().isEmpty() || logprobs) {
                        send(choice, t.text(), logprobs ? logprobs(List.of(t.token())) : null, null);
                    }
                }
                case InferenceEvent.ToolCallDelta d -> throw new IllegalStateException("completions have no tools");
                case InferenceEvent.End end -> send(choice, "", null, finishReason(end.reason()));
            }
        }

        /** After every choice ended: the usage chunk, when the caller asked for it. */
        public void end(InferenceRuns.Usage usage) {
            if (request.includeUsage()) {
                out.accept(new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT,
                        List.of(), ChatCodec.usage(usage)));
            }
        }

        private void send(int choice, String text, TextCompletion.@Nullable Logprobs logprobs,
                          @Nullable String finishReason) {
            out.accept(new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT,
                    List.of(new TextCompletion.Choice(text, choice, logprobs, finishReason)), null));
        }
    }
}
