package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The request bodies of a benchmark. Every session gets different tokens of its own (drawn from a random source seeded
 * by the workload's seed and the session's number), so a server's prefix cache cannot skip their prefill, after the
 * shared prefix, which is the same in every request of the run and in both servers' requests of a comparison; all ask
 * for exactly the same number of output tokens. Completion prompts of one turn are token ids drawn from the upper
 * part of the vocabulary (above the byte and special tokens that Llama vocabularies put first), so their lengths are
 * exact; chat prompts, and completion prompts of sessions (which carry the answers' text forward), are common English
 * words, about one token each for Llama-family tokenizers, plus whatever the chat template adds. A chat's shared
 * prefix is its system message.
 */
final class Prompts {
    private static final List<String> WORDS = List.of("the", "factory", "model", "server", "token", "request", "time",
            "people", "water", "world", "house", "light", "music", "river", "garden", "number", "story", "market",
            "city", "table", "paper", "window", "school", "friend", "night", "morning", "letter", "computer", "machine",
            "language", "mountain", "forest", "summer", "winter", "energy", "system", "question", "answer");

    /** One turn's prompt, in the form its endpoint takes. */
    sealed interface Prompt {
        /** Token ids, for completions of one turn. */
        record Ids(int[] ids) implements Prompt {
            public Ids {
                ids = ids.clone();
            }

            @Override
            public int[] ids() {
                return ids.clone();
            }
        }

        /** Text, for completions of several turns. */
        record Text(String text) implements Prompt {}

        /** Messages, for chat. */
        record Chat(List<Message> messages) implements Prompt {
            public Chat {
                messages = List.copyOf(messages);
            }
        }
    }

    /** A chat message as the API takes it. */
    record Message(String role, String content) {}

    /** Turn {@code number} (from 1) of session {@code session}. */
    record Turn(int session, int number, Prompt prompt) {}

    private final BenchOptions options;
    private final Workload workload;

    Prompts(BenchOptions options) {
        this.options = requireNonNull(options, "options is null");
        this.workload = options.workload();
    }

    /** The first turn of session {@code session}: the shared prefix, then tokens of its own. */
    Turn first(int session) {
        SplittableRandom random = random(session, 1);
        int own = workload.promptTokens().draw(random);
        Prompt prompt = switch (options.endpoint()) {
            case COMPLETIONS -> {
                if (workload.turns() == 1) {
                    int[] prefix = ids(workload.sharedPrefixTokens(), prefixRandom());
                    int[] ids = Arrays.copyOf(prefix, prefix.length + own);
                    System.arraycopy(ids(own, random), 0, ids, prefix.length, own);
                    yield new Prompt.Ids(ids);
                }
                String prefix = words(workload.sharedPrefixTokens(), prefixRandom());
                yield new Prompt.Text(prefix.isEmpty() ? words(own, random) : prefix + " " + words(own, random));
            }
            case CHAT -> {
                List<Message> messages = new ArrayList<>();
                if (workload.sharedPrefixTokens() > 0) {
                    messages.add(new Message("system", words(workload.sharedPrefixTokens(), prefixRandom())));
                }
                messages.add(new Message("user", words(own, random)));
                yield new Prompt.Chat(messages);
            }
        };
        return new Turn(session, 1, prompt);
    }

    /** The turn after {@code previous}, whose answer was {@code answer}: its prompt, the answer, then new words. */
    Turn next(Turn previous, String answer) {
        int number = previous.number() + 1;
        String added = words(workload.turnTokens(), random(previous.session(), number));
        Prompt prompt = switch (previous.prompt()) {
            case Prompt.Ids ignored -> throw new IllegalStateException("token-id prompts have one turn");
            case Prompt.Text text -> new Prompt.Text(text.text() + answer + " " + added);
            case Prompt.Chat chat -> {
                List<Message> messages = new ArrayList<>(chat.messages());
                messages.add(new Message("assistant", answer));
                messages.add(new Message("user", added));
                yield new Prompt.Chat(messages);
            }
        };
        return new Turn(previous.session(), number, prompt);
    }

    /** The JSON body of {@code turn}. */
    String body(Turn turn) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", options.model());
        switch (turn.prompt()) {
            case Prompt.Ids ids -> body.put("prompt", ids.ids());
            case Prompt.Text text -> body.put("prompt", text.text());
            case Prompt.Chat chat -> body.put("messages", chat.messages());
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

    private int[] ids(int count, SplittableRandom random) {
        int vocabulary = options.vocabulary();
        int low = Math.min(1000, vocabulary / 2);
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = random.nextInt(low, vocabulary);
        }
        return ids;
    }

    private static String words(int count, SplittableRandom random) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < count; i++) {
            text.append(i == 0 ? "" : " ").append(WORDS.get(random.nextInt(WORDS.size())));
        }
        return text.toString();
    }

    /** The source of the shared prefix: the same for every session. */
    private SplittableRandom prefixRandom() {
        return random(-1, 0);
    }

    /**
     * The source of session {@code session}'s turn {@code turn}: its length and tokens. Distinct odd multipliers keep
     * the seeds of different sessions and turns apart; SplittableRandom mixes each seed into a stream of its own.
     */
    private SplittableRandom random(int session, int turn) {
        return new SplittableRandom(workload.seed() * 0x9E37_79B9_7F4A_7C15L + (session + 2L) * 0xBF58_476D_1CE4_E5B9L
                + turn * 0x94D0_49BB_1331_11EBL);
    }
}
