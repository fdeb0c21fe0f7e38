package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.engine.TokenEvent;
import ai.factory.inference.Completion;
import ai.factory.inference.InferenceCall;
import ai.factory.inference.InferenceEvent;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** OpenAI's legacy completions as the factory's calls: raw prompts, no template, no tools. */
public final class CompletionCodec {
    /** OpenAI's default when {@code max_tokens} is not given. */
    private static final int DEFAULT_MAX_TOKENS = 16;

    private CompletionCodec() {}

    /**
     * A decoded request.
     *
     * @param echo the answer starts with the prompt
     * @param logprobs alternatives per token in the answer's logprobs, or -1 for none
     */
    public record Decoded(InferenceCall call, boolean stream, boolean includeUsage, boolean echo, int logprobs) {}

    public static Decoded decode(CompletionRequest r) {
        String model = Fields.requiredString(r.model(), "model");
        Fields.requireSingleChoice(r.n());
        if (r.suffix() != null) {
            throw FactoryException.invalidParam("suffix", "'suffix' (fill-in-the-middle) is not supported");
        }
        int logprobs = r.logprobs() == null ? -1 : r.logprobs();
        if (logprobs < -1 || logprobs > 5) {
            throw FactoryException.invalidParam("logprobs", "'logprobs' must be between 0 and 5");
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        InferenceCall call = new InferenceCall(model, prompt(r.prompt()), InferenceCall.Tools.NONE,
                InferenceCall.OutputFormat.TEXT,
                Fields.sampling(r.temperature(), r.topP(), r.topK(), r.minP(), r.repetitionPenalty(),
                        r.presencePenalty(), r.frequencyPenalty(), r.seed()),
                Fields.maxTokens(r.maxTokens(), "max_tokens", DEFAULT_MAX_TOKENS), Fields.stop(r.stop()),
                Boolean.TRUE.equals(r.ignoreEos()), logprobs >= 0, Math.max(logprobs, 0), Fields.logitBias(r.logitBias()),
                r.maxTokens() != null);
        boolean includeUsage = stream && r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        return new Decoded(call, stream, includeUsage, Boolean.TRUE.equals(r.echo()), logprobs);
    }

    /** A prompt is a string, an array of one string, or an array of token ids. */
    private static InferenceCall.Prompt prompt(JsonNode node) {
        if (node == null || node.isNull()) {
            throw FactoryException.invalidParam("prompt", "'prompt' is required");
        }
        if (node.isArray() && node.size() == 1 && node.get(0).isTextual()) {
            node = node.get(0);
        }
        if (node.isTextual()) {
            return new InferenceCall.Prompt.Text(node.asText(), false);
        }
        if (!node.isArray() || node.isEmpty()) {
            throw FactoryException.invalidParam("prompt", "'prompt' must be a string, or an array of token ids");
        }
        int[] tokens = new int[node.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = node.get(i);
            if (t.isTextual()) {
                throw FactoryException.invalidParam("prompt", "only one prompt per request is supported");
            }
            if (!t.isInt()) {
                throw FactoryException.invalidParam("prompt", "prompt[" + i + "] must be a token id");
            }
            tokens[i] = t.asInt();
        }
        return new InferenceCall.Prompt.Tokens(tokens);
    }

    public static TextCompletion completion(String id, long created, String model, Decoded request, String promptText,
                                            Completion c) {
        TextCompletion.Choice choice = new TextCompletion.Choice(promptText + c.text(), 0,
                request.logprobs() >= 0 ? logprobs(c.tokens()) : null, finishReason(c.end().reason()));
        return new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT, List.of(choice),
                ChatCodec.usage(c.end()));
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

    /** Writes a streamed answer's events as {@code text_completion} chunks. */
    public static final class Stream implements Consumer<InferenceEvent> {
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

        /** The echoed prompt, when asked for. */
        public void start(String promptText) {
            if (request.echo()) {
                send(promptText, null, null);
            }
        }

        @Override
        public void accept(InferenceEvent event) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    boolean logprobs = request.logprobs() >= 0 && t.token() != null;
                    if (!t.text().isEmpty() || logprobs) {
                        send(t.text(), logprobs ? logprobs(List.of(t.token())) : null, null);
                    }
                }
                case InferenceEvent.ToolCallDelta d -> throw new IllegalStateException("completions have no tools");
                case InferenceEvent.End end -> {
                    send("", null, finishReason(end.reason()));
                    if (request.includeUsage()) {
                        out.accept(new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT,
                                List.of(), ChatCodec.usage(end)));
                    }
                }
            }
        }

        private void send(String text, TextCompletion.Logprobs logprobs, String finishReason) {
            out.accept(new TextCompletion(id, "text_completion", created, model, Fields.SYSTEM_FINGERPRINT,
                    List.of(new TextCompletion.Choice(text, 0, logprobs, finishReason)), null));
        }
    }
}
