package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.engine.Priority;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.engine.chat.ToolChoice;
import ai.factory.engine.chat.ToolSpec;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A request for generated text, whichever API it came through: what every codec decodes its API's body into and
 * the {@link InferencePipeline} serves. Field names in errors raised here are the factory's; codecs check their own
 * fields before building a call, so a caller reads its API's names.
 *
 * @param model the model the call names ({@code ns/model} or {@code ns/model:version})
 * @param maxTokens the most tokens to generate; 0 means "until the context is full"
 * @param stop strings that end the output
 * @param ignoreEos keep generating past the end of the model's turn (benchmarks)
 * @param logprobs whether each token's log-probability is reported
 * @param topLogprobs how many alternatives per token are reported (0 to 20)
 * @param logitBias what to add to some tokens' logits (-100 to 100), by token id
 * @param maxTokensAsked whether the caller asked for {@code maxTokens} (a limit beyond what the context can hold is
 *     then refused) or the API's default applies (the context's end then limits it quietly)
 * @param priority the priority class the call asked for (OpenAI's {@code service_tier}, Bedrock's
 *     {@code serviceTier}), or null for its key's or project's
 */
public record InferenceCall(String model, Prompt prompt, Tools tools, OutputFormat format, SamplingParams sampling,
                            int maxTokens, List<String> stop, boolean ignoreEos, boolean logprobs, int topLogprobs,
                            Map<Integer, Float> logitBias, boolean maxTokensAsked, @Nullable Priority priority) {
    /** A call of its key's priority. */
    public InferenceCall(String model, Prompt prompt, Tools tools, OutputFormat format, SamplingParams sampling,
                         int maxTokens, List<String> stop, boolean ignoreEos, boolean logprobs, int topLogprobs,
                         Map<Integer, Float> logitBias, boolean maxTokensAsked) {
        this(model, prompt, tools, format, sampling, maxTokens, stop, ignoreEos, logprobs, topLogprobs, logitBias,
                maxTokensAsked, null);
    }

    /** This call, asking for {@code priority} (null: its key's). */
    public InferenceCall withPriority(@Nullable Priority priority) {
        return new InferenceCall(model, prompt, tools, format, sampling, maxTokens, stop, ignoreEos, logprobs,
                topLogprobs, logitBias, maxTokensAsked, priority);
    }

    /** A call whose {@code maxTokens}, when positive, is the caller's own. */
    public InferenceCall(String model, Prompt prompt, Tools tools, OutputFormat format, SamplingParams sampling,
                         int maxTokens, List<String> stop, boolean ignoreEos, boolean logprobs, int topLogprobs,
                         Map<Integer, Float> logitBias) {
        this(model, prompt, tools, format, sampling, maxTokens, stop, ignoreEos, logprobs, topLogprobs, logitBias,
                maxTokens > 0);
    }

    public InferenceCall {
        requireNonNull(model, "model is null");
        requireNonNull(prompt, "prompt is null");
        requireNonNull(tools, "tools is null");
        requireNonNull(format, "format is null");
        requireNonNull(sampling, "sampling is null");
        stop = List.copyOf(requireNonNull(stop, "stop is null"));
        logitBias = Map.copyOf(requireNonNull(logitBias, "logitBias is null"));
        if (tools.active() && !(prompt instanceof Prompt.Chat)) {
            throw new IllegalArgumentException("tools need a conversation");
        }
    }

    /** What the model continues. */
    public sealed interface Prompt {
        /** A conversation, rendered with the model's own chat template (tools included). */
        record Chat(List<ChatMessage> messages) implements Prompt {
            public Chat {
                messages = List.copyOf(requireNonNull(messages, "messages is null"));
                if (messages.isEmpty()) {
                    throw new IllegalArgumentException("a conversation has at least one message");
                }
            }
        }

        /**
         * Raw text, tokenized as it is.
         *
         * @param specialTokens read special-token text ({@code <|eot_id|>}) as those tokens, as prompts written in
         *     the model's chat format need; the model's BOS is then not added again when the text starts with it
         */
        record Text(String text, boolean specialTokens) implements Prompt {
            public Text {
                requireNonNull(text, "text is null");
            }
        }

        /** Token ids, checked against the model's vocabulary. */
        record Tokens(int[] ids) implements Prompt {
            public Tokens {
                ids = ids.clone();
            }
        }
    }

    /**
     * The tools the model may call and whether it must.
     *
     * @param parallel whether one reply may call several tools
     */
    public record Tools(List<ToolSpec> specs, ToolChoice choice, boolean parallel) {
        public static final Tools NONE = new Tools(List.of(), ToolChoice.NONE, false);

        public Tools {
            specs = List.copyOf(requireNonNull(specs, "specs is null"));
            requireNonNull(choice, "choice is null");
            Set<String> names = new HashSet<>();
            for (ToolSpec spec : specs) {
                if (!names.add(spec.name())) {
                    throw FactoryException.invalidParam("tools", "two tools are named '" + spec.name() + "'");
                }
            }
            if (choice instanceof ToolChoice.Named named && !names.contains(named.name())) {
                throw FactoryException.invalidParam("tool_choice", "tool_choice names '" + named.name()
                        + "', which is not among the tools");
            }
            if (choice instanceof ToolChoice.Required && specs.isEmpty()) {
                throw FactoryException.invalidParam("tool_choice", "tool_choice requires a tool call, but no tools are given");
            }
        }

        /** Whether the model may call tools in this reply. */
        public boolean active() {
            return !specs.isEmpty() && !(choice instanceof ToolChoice.None);
        }
    }

    /** What shape the output text must have. */
    public sealed interface OutputFormat {
        /** Free text. */
        record Text() implements OutputFormat {}

        /** A JSON object, any. */
        record JsonObject() implements OutputFormat {}

        /**
         * A JSON value valid against {@code schema}, enforced by grammar-constrained sampling.
         *
         * @param name the schema's name, as OpenAI's {@code json_schema.name}
         */
        record JsonSchema(String name, JsonNode schema) implements OutputFormat {
            public JsonSchema {
                requireNonNull(name, "name is null");
                requireNonNull(schema, "schema is null");
            }
        }

        OutputFormat TEXT = new Text();
    }
}
