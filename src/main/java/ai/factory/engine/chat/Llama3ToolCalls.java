package ai.factory.engine.chat;

import static ai.factory.engine.chat.ToolGrammars.literal;

import ai.factory.engine.Grammar;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;

/**
 * Llama 3.1 to 3.3: the reply is the call, {@code {"name": "f", "parameters": {...}}}, at its very start or after
 * {@code <|python_tag|>} (which Llama 3.1 writes before code and often before JSON calls); several calls are
 * separated by {@code ;}. JSON in the middle of a reply is text, not a call: the family never calls there, and
 * a reply that merely contains JSON must not turn into a call. {@code "arguments"} is accepted for
 * {@code "parameters"}, and a leading {@code "type": "function"} is allowed, as Llama 3.2 sometimes writes.
 */
record Llama3ToolCalls() implements ToolCallFormat {
    static final String PYTHON_TAG = "<|python_tag|>";
    /** Llama 3.x templates tell the model to answer {@code {"name": function name, "parameters": ...}}. */
    private static final Pattern PARAMETERS = Pattern.compile("\\\\?\"parameters\\\\?\"");
    /** The start of a call object: {@code {"name"} or {@code {"type"}, with any spacing. */
    private static final Pattern CALL_START = Pattern.compile("\\{\\s*\"(name|type)\"");

    static boolean taughtBy(String templateSource) {
        return templateSource.contains(PYTHON_TAG)
                || (templateSource.contains("<|start_header_id|>") && PARAMETERS.matcher(templateSource).find());
    }

    @Override
    public String name() {
        return "llama3";
    }

    @Override
    public ToolOutput parse(String text, RandomGenerator ids) {
        int start = ToolJson.skipWhitespace(text, 0);
        if (text.startsWith("{", start)) {
            CallScanner.Block block = calls(text, start, ids);
            if (block != null) {
                return new ToolOutputBuilder().text(text.substring(0, start)).calls(block.calls())
                        .text(text.substring(block.end())).build();
            }
        }
        return CallScanner.parse(text, PYTHON_TAG, Llama3ToolCalls::calls, ids);
    }

    /** One or more call objects from {@code from}, separated by {@code ;} or whitespace. */
    private static CallScanner.@Nullable Block calls(String text, int from, RandomGenerator ids) {
        List<ToolCall> calls = new ArrayList<>();
        int position = from;
        int cursor = from;
        while (true) {
            ToolJson.Scanned json = ToolJson.scan(text, cursor);
            ToolCall call = json == null ? null : call(json, ids);
            if (json == null || call == null) {
                break;
            }
            calls.add(call);
            position = json.end();
            int next = ToolJson.skipWhitespace(text, position);
            cursor = next < text.length() && text.charAt(next) == ';' ? next + 1 : position;
        }
        return calls.isEmpty() ? null : new CallScanner.Block(calls, position);
    }

    private static @Nullable ToolCall call(ToolJson.Scanned json, RandomGenerator ids) {
        var object = json.value();
        if (object.isObject() && object.has("type") && !object.path("type").asText().equals("function")) {
            return null;
        }
        String field = object.has("parameters") ? "parameters" : "arguments";
        return CallScanner.call(object, field, ToolCallIds.openAi(ids));
    }

    @Override
    public int possibleCallStart(String text) {
        int start = ToolJson.skipWhitespace(text, 0);
        if (start < text.length() && text.charAt(start) == '{' && mayBeCall(text.substring(start))) {
            return start;
        }
        return CallScanner.possibleStart(text, PYTHON_TAG);
    }

    /** Whether text starting with "{" is, or may still become, the start of a call object. */
    private static boolean mayBeCall(String object) {
        if (CALL_START.matcher(object).lookingAt()) {
            return true;
        }
        String rest = object.substring(1).stripLeading();
        return "\"name\"".startsWith(rest) || "\"type\"".startsWith(rest);
    }

    /**
     * Calls as the Llama 3.1 template writes them in history. Auto triggers on {@code <|python_tag|>}; a reply that
     * opens with a bare call object is free text, parsed as it comes (a trigger word must be one token).
     */
    @Override
    public @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls) {
        return ToolGrammars.grammar(tools, choice, parallelCalls, (gbnf, allowed) -> {
            String ws = ToolGrammars.space(gbnf);
            String named = ToolGrammars.alternatives(gbnf, "tool-call-named", allowed, (tool, arguments) ->
                    literal("\"" + tool.name() + "\"") + " " + ws + " " + literal(",") + " " + ws + " "
                            + literal("\"parameters\"") + " " + ws + " " + literal(":") + " " + ws + " " + arguments);
            return gbnf.rule("tool-call", literal("{") + " " + ws + " " + literal("\"name\"") + " " + ws + " "
                    + literal(":") + " " + ws + " " + named + " " + ws + " " + literal("}"));
        }, literal(";") + " " + literal(" ") + "?", List.of(ToolGrammars.trigger(PYTHON_TAG)),
                literal(PYTHON_TAG) + "?", null);
    }
}
