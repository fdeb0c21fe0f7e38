package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The request bodies of a benchmark. Every request gets a different prompt (seeded by its index), so a
 * server's prefix cache cannot skip the prefill; all ask for exactly the same number of output tokens.
 * Completion prompts are token ids drawn from the upper part of the vocabulary (above the byte and
 * special tokens that Llama vocabularies put first); chat prompts are common English words, about one
 * token each for Llama-family tokenizers, plus whatever the chat template adds.
 */
final class Prompts {
    private static final List<String> WORDS = List.of("the", "factory", "model", "server", "token", "request", "time",
            "people", "water", "world", "house", "light", "music", "river", "garden", "number", "story", "market",
            "city", "table", "paper", "window", "school", "friend", "night", "morning", "letter", "computer", "machine",
            "language", "mountain", "forest", "summer", "winter", "energy", "system", "question", "answer");

    private final BenchOptions options;

    Prompts(BenchOptions options) {
        this.options = requireNonNull(options, "options is null");
    }

    /** The JSON body of request {@code index}. */
    String body(int index) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", options.model());
        switch (options.endpoint()) {
            case COMPLETIONS -> body.put("prompt", tokenIds(index));
            case CHAT -> body.put("messages", List.of(Map.of("role", "user", "content", words(index))));
        }
        body.put("max_tokens", options.outputTokens());
        // vLLM and SGLang honour min_tokens; llama.cpp and the factory honour ignore_eos.
        body.put("min_tokens", options.outputTokens());
        body.put("ignore_eos", true);
        body.put("temperature", 0);
        if (options.responseFormat() != null) {
            body.put("response_format", options.responseFormat());
        }
        body.put("stream", true);
        body.put("stream_options", Map.of("include_usage", true));
        try {
            return Json.mapper().writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    int[] tokenIds(int index) {
        int vocabulary = options.vocabulary();
        int low = Math.min(1000, vocabulary / 2);
        int[] ids = new int[options.promptTokens()];
        long state = seed(index);
        for (int i = 0; i < ids.length; i++) {
            state = next(state);
            ids[i] = low + (int) Long.remainderUnsigned(state, vocabulary - low);
        }
        return ids;
    }

    String words(int index) {
        StringBuilder text = new StringBuilder();
        long state = seed(index);
        for (int i = 0; i < options.promptTokens(); i++) {
            state = next(state);
            text.append(i == 0 ? "" : " ").append(WORDS.get((int) Long.remainderUnsigned(state, WORDS.size())));
        }
        return text.toString();
    }

    private static long seed(int index) {
        return 0x9E37_79B9_7F4A_7C15L * (index + 1);
    }

    private static long next(long state) {
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        return state;
    }
}
