package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.engine.Grammar;
import ai.factory.engine.grammar.Gbnf;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The GBNF that the tool-call formats share: which tools a choice allows, each tool's arguments, and how a
 * family's call envelope becomes a lazy or a forcing grammar.
 *
 * <p>Markers such as {@code [TOOL_CALLS]} are special tokens; llama.cpp's grammar matches a token by its text
 * with special tokens rendered, so a literal of the marker's text admits the special token.
 */
final class ToolGrammars {
    /** Schema keywords that, when present, make a parameters schema more than "any object". */
    private static final Set<String> OBJECT_ONLY_KEYWORDS = Set.of("type", "title", "description", "$schema");

    private ToolGrammars() {}

    /**
     * Builds the grammar for {@code choice}; {@code call} adds the rule for one call of one of the given tools.
     *
     * @param call adds one call's rule for the allowed tools and returns its name
     * @param separator GBNF between parallel calls
     * @param triggers the lazy grammar's trigger words (for {@code Auto})
     * @param prefix GBNF before the calls as a whole (a marker written once), or null
     * @param suffix GBNF after the calls as a whole (the end of a list), or null
     */
    static @Nullable Grammar grammar(List<ToolSpec> tools, ToolChoice choice, boolean parallelCalls,
                           CallRule call, String separator, List<String> triggers, @Nullable String prefix,
                                   @Nullable String suffix) {
        List<ToolSpec> allowed = allowed(tools, choice);
        if (allowed == null) {
            return null;
        }
        Gbnf gbnf = new Gbnf();
        String one = call.add(gbnf, allowed);
        String calls = parallelCalls ? one + " ( " + separator + " " + one + " )*" : one;
        gbnf.rule("root", (prefix == null ? "" : prefix + " ") + calls + (suffix == null ? "" : " " + suffix));
        return switch (choice) {
            case ToolChoice.Auto _ -> gbnf.lazyGrammar(triggers);
            case ToolChoice.Required _, ToolChoice.Named _ -> gbnf.grammar();
            case ToolChoice.None _ -> throw new AssertionError("None has no grammar");
        };
    }

    /** Adds the rule of one call, choosing among {@code allowed}. */
    @FunctionalInterface
    interface CallRule {
        String add(Gbnf gbnf, List<ToolSpec> allowed);
    }

    /**
     * The tools a choice allows a call of, or null for {@code None}.
     *
     * @throws FactoryException INVALID_REQUEST on {@code tool_choice} when the choice cannot be met with these tools
     */
    static @Nullable List<ToolSpec> allowed(List<ToolSpec> tools, ToolChoice choice) {
        requireNonNull(tools, "tools is null");
        requireNonNull(choice, "choice is null");
        return switch (choice) {
            case ToolChoice.None _ -> null;
            case ToolChoice.Auto _ -> tools.isEmpty() ? null : List.copyOf(tools);
            case ToolChoice.Required _ -> {
                if (tools.isEmpty()) {
                    throw FactoryException.invalidParam("tool_choice", "tool_choice 'required' needs at least one tool in 'tools'");
                }
                yield List.copyOf(tools);
            }
            case ToolChoice.Named named -> {
                List<ToolSpec> matching = tools.stream().filter(tool -> tool.name().equals(named.name())).toList();
                if (matching.isEmpty()) {
                    throw FactoryException.invalidParam("tool_choice", "tool_choice names the function '" + named.name()
                            + "', which is not in 'tools'; name one of the tools given");
                }
                yield List.of(matching.getFirst());
            }
        };
    }

    /** One alternative per tool, each built by {@code alternative} from the tool and its arguments rule. */
    static String alternatives(Gbnf gbnf, String name, List<ToolSpec> tools, Alternative alternative) {
        List<String> bodies = new ArrayList<>();
        for (ToolSpec tool : tools) {
            bodies.add(alternative.body(tool, arguments(gbnf, tool)));
        }
        return gbnf.rule(name, String.join(" | ", bodies));
    }

    @FunctionalInterface
    interface Alternative {
        String body(ToolSpec tool, String argumentsRule);
    }

    /**
     * The rule for a tool's arguments: any JSON object when its schema says no more than "an object" (the
     * schema compiler is not needed, and such tools are common), else the schema compiled by {@link Gbnf}.
     */
    static String arguments(Gbnf gbnf, ToolSpec tool) {
        JsonNode schema = tool.parameters();
        if (anyObject(schema)) {
            return jsonObject(gbnf);
        }
        return gbnf.jsonSchema(tool.name() + "-arguments", schema);
    }

    /** Whether a schema allows any object: {@code {}}, or {@code {"type": "object"}} with at most empty properties. */
    static boolean anyObject(JsonNode schema) {
        for (var field : schema.properties()) {
            String key = field.getKey();
            JsonNode value = field.getValue();
            boolean harmless = switch (key) {
                case "type" -> value.isTextual() && value.textValue().equals("object");
                case "properties" -> value.isObject() && value.isEmpty();
                case "required" -> value.isArray() && value.isEmpty();
                default -> OBJECT_ONLY_KEYWORDS.contains(key);
            };
            if (!harmless) {
                return false;
            }
        }
        return true;
    }

    /** Rules for any JSON object, with the whitespace llama.cpp's JSON grammars allow. */
    static String jsonObject(Gbnf gbnf) {
        String ws = space(gbnf);
        String string = gbnf.rule("json-string",
                "\"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} ) )* \"\\\"\"");
        String number = gbnf.rule("json-number",
                "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?");
        // Rules refer to each other by name, so the recursive ones need their final names before their bodies.
        String value = "any-json-value";
        String object = "any-json-object";
        String array = "any-json-array";
        if (gbnf.has(value) || gbnf.has(object) || gbnf.has(array)) {
            return object;
        }
        gbnf.rule(value, object + " | " + array + " | " + string + " | " + number + " | \"true\" | \"false\" | \"null\"");
        gbnf.rule(object, "\"{\" " + ws + " ( " + string + " " + ws + " \":\" " + ws + " " + value + " " + ws
                + " ( \",\" " + ws + " " + string + " " + ws + " \":\" " + ws + " " + value + " " + ws + " )* )? \"}\"");
        gbnf.rule(array, "\"[\" " + ws + " ( " + value + " " + ws + " ( \",\" " + ws + " " + value + " " + ws + " )* )? \"]\"");
        return object;
    }

    /** Optional whitespace, bounded so a model cannot pad forever: none, a space, or a newline and indentation. */
    static String space(Gbnf gbnf) {
        return gbnf.rule("ws", "| \" \" | \"\\n\" [ \\t]{0,20}");
    }

    /** A lazy grammar's trigger: the call marker itself, which the engine triggers on as one token (see Grammar). */
    static String trigger(String marker) {
        return marker;
    }

    static String literal(String s) {
        return Gbnf.literal(s);
    }
}
