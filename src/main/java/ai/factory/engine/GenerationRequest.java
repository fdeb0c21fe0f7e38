package ai.factory.engine;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.Map;

/**
 * One generation: a tokenized prompt and when to stop.
 *
 * @param maxTokens the most tokens to generate; 0 means "until the context is full"
 * @param stop strings that end generation; they and what follows are never emitted
 * @param ignoreEos keep generating past EOS (for benchmarks that need exact lengths)
 * @param topLogprobs 0 for no log-probabilities, else how many alternatives per token (at most 20)
 * @param grammar what the output must match, or null for free text
 * @param specialText control tokens the model writes come out as their text (tool-call markers such as
 *     {@code [TOOL_CALLS]} or {@code <|python_tag|>} are special tokens, and a parser must see them); the tokens
 *     that end the model's turn never do
 * @param logitBias what to add to the logits of some tokens before sampling (from -100, which all but bans a token,
 *     to 100, which all but forces it)
 * @param priority how the engine's queue orders it: interactive generations before batch ones
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, List<String> stop,
                                boolean ignoreEos, boolean logprobs, int topLogprobs, @Nullable Grammar grammar,
                                boolean specialText, Map<Integer, Float> logitBias, Priority priority) {
    public GenerationRequest {
        requireNonNull(prompt, "prompt is null");
        requireNonNull(priority, "priority is null");
        requireNonNull(sampling, "sampling is null");
        stop = List.copyOf(requireNonNull(stop, "stop is null"));
        if (prompt.length == 0) {
            throw FactoryException.invalidParam("prompt", "the prompt is empty");
        }
        if (maxTokens < 0) {
            throw FactoryException.invalidParam("max_tokens", "'max_tokens' must not be negative");
        }
        if (stop.size() > 16 || stop.stream().anyMatch(s -> s.isEmpty() || s.length() > 1000)) {
            throw FactoryException.invalidParam("stop", "'stop' takes at most 16 non-empty strings of up to 1000 characters");
        }
        if (topLogprobs < 0 || topLogprobs > 20) {
            throw FactoryException.invalidParam("top_logprobs", "'top_logprobs' must be between 0 and 20");
        }
        logitBias = Map.copyOf(requireNonNull(logitBias, "logitBias is null"));
        if (logitBias.values().stream().anyMatch(b -> !(b >= -100 && b <= 100))) {
            throw FactoryException.invalidParam("logit_bias", "every 'logit_bias' value must be between -100 and 100");
        }
        prompt = prompt.clone();
    }

    /** An interactive generation. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, List<String> stop,
                             boolean ignoreEos, boolean logprobs, int topLogprobs, @Nullable Grammar grammar,
                             boolean specialText, Map<Integer, Float> logitBias) {
        this(prompt, sampling, maxTokens, stop, ignoreEos, logprobs, topLogprobs, grammar, specialText, logitBias,
                Priority.INTERACTIVE);
    }

    /** This generation with another priority. */
    public GenerationRequest withPriority(Priority priority) {
        return priority == this.priority ? this : new GenerationRequest(prompt, sampling, maxTokens, stop, ignoreEos,
                logprobs, topLogprobs, grammar, specialText, logitBias, priority);
    }

    /** A generation of free text. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, List<String> stop,
                             boolean ignoreEos, boolean logprobs, int topLogprobs) {
        this(prompt, sampling, maxTokens, stop, ignoreEos, logprobs, topLogprobs, null, false, Map.of());
    }

    /** A generation under a grammar, control tokens left out of the text. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, List<String> stop,
                             boolean ignoreEos, boolean logprobs, int topLogprobs, Grammar grammar) {
        this(prompt, sampling, maxTokens, stop, ignoreEos, logprobs, topLogprobs, grammar, false, Map.of());
    }

    public static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, List.of(), false, false, 0);
    }
}
