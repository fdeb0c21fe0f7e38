package ai.factory.engine.chat;

import static ai.factory.engine.chat.ToolGrammars.literal;

import ai.factory.engine.Grammar;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Mistral's {@code [TOOL_CALLS]} token, followed either by a JSON array of {@code {"name", "arguments"}} objects
 * (Mistral 7B v0.3, Nemo; an {@code "id"} in an object is kept) or by {@code name[ARGS]{...}} for one call, with
 * an optional {@code [CALL_ID]id} before {@code [ARGS]} (tokenizer v11 and later: Mistral Small 3.2, Magistral,
 * Devstral; the token repeats for each call).
 *
 * <p>Both forms are read whichever the model was trained on; {@code namedForm} chooses the one grammars force,
 * the form the model's template writes calls in.
 *
 * <p>Ids made here are 9 letters and digits, not OpenAI's {@code call_} form: Mistral templates reject any other
 * length when the call comes back in the history.
 */
record MistralToolCalls(boolean namedForm) implements ToolCallFormat {
    static final String MARKER = "[TOOL_CALLS]";
    private static final String ARGS = "[ARGS]";
    private static final String CALL_ID = "[CALL_ID]";

    @Override
    public String name() {
        return "mistral";
    }

    @Override
    public ToolOutput parse(String text, RandomGenerator ids) {
        return CallScanner.parse(text, MARKER, MistralToolCalls::block, ids);
    }

    private static CallScanner.@Nullable Block block(String text, int from, RandomGenerator ids) {
        int start = ToolJson.skipWhitespace(text, from);
        if (text.startsWith("[", start) && !text.startsWith(ARGS, start) && !text.startsWith(CALL_ID, start)) {
            return array(text, start, ids);
        }
        return named(text, start, ids);
    }

    private static CallScanner.@Nullable Block array(String text, int start, RandomGenerator ids) {
        ToolJson.Scanned json = ToolJson.scan(text, start);
        if (json == null || !json.value().isArray() || json.value().isEmpty()) {
            return null;
        }
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode item : json.value()) {
            ToolCall call = CallScanner.call(item, "arguments", id(ids));
            if (call == null) {
                return null;
            }
            calls.add(call);
        }
        return new CallScanner.Block(calls, json.end());
    }

    /** {@code name[ARGS]{...}} or {@code name[CALL_ID]id[ARGS]{...}}. */
    private static CallScanner.@Nullable Block named(String text, int start, RandomGenerator ids) {
        int args = text.indexOf(ARGS, start);
        if (args < 0) {
            return null;
        }
        String header = text.substring(start, args);
        String name = header;
        String id = id(ids);
        int callId = header.indexOf(CALL_ID);
        if (callId >= 0) {
            name = header.substring(0, callId);
            String own = header.substring(callId + CALL_ID.length()).strip();
            id = own.isEmpty() ? id : own;
        }
        name = name.strip();
        if (!CallScanner.validName(name) || !CallScanner.validName(id)) {
            return null;
        }
        ToolJson.Scanned json = ToolJson.scan(text, args + ARGS.length());
        String arguments = json == null ? null : ToolJson.objectText(json.value());
        if (json == null || arguments == null) {
            return null;
        }
        return new CallScanner.Block(List.of(new ToolCall(id, name, arguments)), json.end());
    }

    private static String id(RandomGenerator ids) {
        return ToolCallIds.alphanumeric(ids, 9);
    }

    @Override
    public int possibleCallStart(String text) {
        return CallScanner.possibleStart(text, MARKER);
    }

    /**
     * The form the model was trained on: the named form, {@code [TOOL_CALLS]name[ARGS]{...}} repeated per call, or
     * the JSON array after one {@code [TOOL_CALLS]}. Auto triggers on {@code [TOOL_CALLS]}.
     */
    @Override
    public @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls) {
        List<String> triggers = List.of(ToolGrammars.trigger(MARKER));
        if (namedForm) {
            return ToolGrammars.grammar(tools, choice, parallelCalls, (gbnf, allowed) -> {
                String named = ToolGrammars.alternatives(gbnf, "tool-call-named", allowed, (tool, arguments) ->
                        literal(tool.name() + ARGS) + " " + arguments);
                return gbnf.rule("tool-call", literal(MARKER) + " " + named);
            }, "", triggers, null, null);
        }
        return ToolGrammars.grammar(tools, choice, parallelCalls, (gbnf, allowed) -> {
            String ws = ToolGrammars.space(gbnf);
            String named = ToolGrammars.alternatives(gbnf, "tool-call-named", allowed, (tool, arguments) ->
                    literal("{\"name\": \"" + tool.name() + "\", \"arguments\": ") + " " + arguments);
            String id = gbnf.rule("tool-call-id", literal(", \"id\": \"") + " [a-zA-Z0-9]{9} " + literal("\""));
            return gbnf.rule("tool-call", named + " " + id + "? " + ws + " " + literal("}"));
        }, literal(", "), triggers, literal(MARKER + "["), literal("]"));
    }
}
