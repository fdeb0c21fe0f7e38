package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Grammar;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * How a model family writes tool calls in its output: parsing them out of the text (whole, or while it streams)
 * and the grammar that forces or guards them.
 *
 * <p>The families:
 * <ul>
 *   <li>{@link #HERMES}: {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}, one block per
 *       call. Hermes, Qwen 2.5, Qwen3 and QwQ are trained on it, and it is the {@link #GENERIC} format that
 *       {@link ChatTemplate#render(List, List, boolean, String, String)} teaches models whose template has no
 *       tool support.
 *   <li>{@link #LLAMA3}: Llama 3.1 to 3.3 answer with a bare {@code {"name": ..., "parameters": {...}}} (at the
 *       start of the reply, or after {@code <|python_tag|>}); several calls are separated by {@code ;}.
 *   <li>{@link #MISTRAL} and {@link #MISTRAL_NAMED} (which differ in the form their grammars force):
 *       {@code [TOOL_CALLS]} and a JSON array of {@code {"name", "arguments"}} (Mistral 7B v0.3,
 *       Nemo), or {@code [TOOL_CALLS]name[ARGS]{...}} per call (Mistral Small 3.2, Magistral, Devstral), with an
 *       optional {@code [CALL_ID]id} before {@code [ARGS]}.
 *   <li>{@link #HARMONY}: gpt-oss writes a call as a message to the {@code commentary} channel:
 *       {@code <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}<|call|>}.
 * </ul>
 * Markers such as {@code [TOOL_CALLS]} and {@code <|python_tag|>} are special tokens, so the engine must
 * detokenize them as text for parsing to see them.
 *
 * <p>A malformed call (broken JSON, no name, arguments that are not an object) is never an error: it stays in the
 * content as the text the model wrote. Formats are stateless and thread-safe; a {@link ToolCallSplitter} serves
 * one generation.
 */
public sealed interface ToolCallFormat permits HermesToolCalls, Llama3ToolCalls, MistralToolCalls, HarmonyToolCalls {
    ToolCallFormat HERMES = new HermesToolCalls();
    ToolCallFormat LLAMA3 = new Llama3ToolCalls();
    /** Mistral, forcing the JSON array form (Mistral 7B v0.3, Nemo). */
    ToolCallFormat MISTRAL = new MistralToolCalls(false);
    /** Mistral, forcing the named form (tokenizer v11 and later: Mistral Small 3.2, Magistral, Devstral). */
    ToolCallFormat MISTRAL_NAMED = new MistralToolCalls(true);
    ToolCallFormat HARMONY = new HarmonyToolCalls();
    /** The format taught to models whose template does not describe tools itself. */
    ToolCallFormat GENERIC = HERMES;

    /**
     * The format a chat template teaches, from the markers in its text; {@link #GENERIC} when it has no tool
     * support (never mentions {@code tools}) or none of the markers appear. The order matters: Mistral and
     * gpt-oss templates may mention the other families' words, their own special tokens decide.
     *
     * @param templateSource the Jinja text of the chat template the prompt is rendered with
     */
    static ToolCallFormat detect(String templateSource) {
        requireNonNull(templateSource, "templateSource is null");
        if (!ToolPrompt.mentionsTools(templateSource)) {
            return GENERIC;
        }
        if (templateSource.contains("[TOOL_CALLS]")) {
            return templateSource.contains("[ARGS]") ? MISTRAL_NAMED : MISTRAL;
        }
        if (templateSource.contains("<|channel|>") && templateSource.contains("functions")) {
            return HARMONY;
        }
        if (Llama3ToolCalls.taughtBy(templateSource)) {
            return LLAMA3;
        }
        return GENERIC;
    }

    /** A short name for logs: {@code hermes}, {@code llama3}, {@code mistral}, {@code harmony}. */
    String name();

    /** The calls in a finished reply, with ids from a thread-local random source. */
    default ToolOutput parse(String text) {
        return parse(text, ThreadLocalRandom.current());
    }

    /**
     * The calls in a finished reply and the text around them.
     *
     * @param ids the source of the ids given to calls that the format writes without one
     */
    ToolOutput parse(String text, RandomGenerator ids);

    /**
     * Where in {@code text} a call starts, or could start once more text arrives (a suffix that begins a call
     * marker); {@code text.length()} when no call can begin in it. Everything before is content for sure.
     */
    int possibleCallStart(String text);

    /** A splitter for one streamed generation, with ids from a thread-local random source. */
    default ToolCallSplitter splitter() {
        return new ToolCallSplitter(this, ThreadLocalRandom.current());
    }

    /** A splitter for one streamed generation. */
    default ToolCallSplitter splitter(RandomGenerator ids) {
        return new ToolCallSplitter(this, ids);
    }

    /**
     * The grammar that makes the output honour {@code choice}:
     * <ul>
     *   <li>{@code None}, or {@code Auto} without tools: null, no constraint;
     *   <li>{@code Auto}: a lazy grammar triggered by the family's call marker: text is free, and a call, once
     *       begun, must name one of {@code tools} with arguments valid under its schema, after which the
     *       reply ends (or, with {@code parallelCalls}, further calls follow);
     *   <li>{@code Required}: a grammar from the first token, allowing exactly one call of any of
     *       {@code tools} (one or more with {@code parallelCalls}) and nothing else;
     *   <li>{@code Named}: the same, for that one tool.
     * </ul>
     *
     * @throws ai.factory.FactoryException INVALID_REQUEST on {@code tool_choice} when it names a tool not in
     *     {@code tools} or requires a call with no tools given; INVALID_REQUEST from the schema compiler when a
     *     tool's parameters use JSON Schema a grammar cannot express
     */
    @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls);
}
