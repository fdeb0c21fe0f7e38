package ai.factory.engine.chat;

import static ai.factory.engine.chat.ToolGrammars.literal;

import ai.factory.engine.Grammar;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * {@code <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>}, one block per call: the Hermes format that
 * Qwen 2.5 and Qwen3 templates teach, and the generic format for templates without tools. A block the model did
 * not close before the reply ended still counts when its JSON is whole.
 */
record HermesToolCalls() implements ToolCallFormat {
    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    @Override
    public String name() {
        return "hermes";
    }

    @Override
    public ToolOutput parse(String text, RandomGenerator ids) {
        return CallScanner.parse(text, OPEN, HermesToolCalls::block, ids);
    }

    private static CallScanner.@Nullable Block block(String text, int from, RandomGenerator ids) {
        ToolJson.Scanned json = ToolJson.scan(text, from);
        if (json == null) {
            return null;
        }
        ToolCall call = CallScanner.call(json.value(), "arguments", ToolCallIds.openAi(ids));
        if (call == null) {
            return null;
        }
        int end = ToolJson.skipWhitespace(text, json.end());
        if (text.startsWith(CLOSE, end)) {
            return new CallScanner.Block(List.of(call), end + CLOSE.length());
        }
        return end == text.length() ? new CallScanner.Block(List.of(call), end) : null;
    }

    @Override
    public int possibleCallStart(String text) {
        return CallScanner.possibleStart(text, OPEN);
    }

    /** Calls as Qwen's template writes them: the JSON on its own line, separated by a newline when several. */
    @Override
    public @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls) {
        return ToolGrammars.grammar(tools, choice, parallelCalls, (gbnf, allowed) -> {
            String named = ToolGrammars.alternatives(gbnf, "tool-call-named", allowed, (tool, arguments) ->
                    literal("{\"name\": \"" + tool.name() + "\", \"arguments\": ") + " " + arguments + " " + literal("}"));
            return gbnf.rule("tool-call", literal(OPEN + "\n") + " " + named + " " + literal("\n" + CLOSE));
        }, literal("\n"), List.of(ToolGrammars.trigger(OPEN)), null, null);
    }
}
