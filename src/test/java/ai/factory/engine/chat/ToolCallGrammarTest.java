package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Grammar;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The grammars' structure. The tools here take no parameters or any object, so the generic JSON object rules
 * stand in for compiled schemas; the schema compiler has its own tests.
 */
class ToolCallGrammarTest {
    private static final ToolSpec TIME = new ToolSpec("get_time", "", null);
    private static final ToolSpec SEARCH = new ToolSpec("search", "Web search", ToolPromptTest.json("{\"type\": \"object\"}"));
    private static final List<ToolSpec> TOOLS = List.of(TIME, SEARCH);
    private static final List<ToolCallFormat> FORMATS = List.of(ToolCallFormat.HERMES, ToolCallFormat.LLAMA3,
            ToolCallFormat.MISTRAL, ToolCallFormat.MISTRAL_NAMED, ToolCallFormat.HARMONY);

    @Test
    void noneHasNoGrammarAndAutoNeedsTools() {
        for (ToolCallFormat format : FORMATS) {
            assertThat(format.grammar(TOOLS, ToolChoice.NONE, true)).isNull();
            assertThat(format.grammar(List.of(), ToolChoice.AUTO, true)).isNull();
        }
    }

    @Test
    void requiredForcesACallOfAnyToolFromTheFirstToken() {
        Grammar grammar = ToolCallFormat.HERMES.grammar(TOOLS, ToolChoice.REQUIRED, false);

        assertThat(grammar.lazy()).isFalse();
        assertThat(rule(grammar, "root")).isEqualTo("tool-call");
        assertThat(rule(grammar, "tool-call")).isEqualTo("\"<tool_call>\\n\" tool-call-named \"\\n</tool_call>\"");
        assertThat(rule(grammar, "tool-call-named"))
                .isEqualTo("\"{\\\"name\\\": \\\"get_time\\\", \\\"arguments\\\": \" any-json-object \"}\""
                        + " | \"{\\\"name\\\": \\\"search\\\", \\\"arguments\\\": \" any-json-object \"}\"");
        assertThat(grammar.gbnf()).contains("any-json-value ::= ", "any-json-array ::= ", "json-string ::= ", "ws ::= ");
    }

    @Test
    void parallelCallsRepeatTheCall() {
        assertThat(rule(ToolCallFormat.HERMES.grammar(TOOLS, ToolChoice.REQUIRED, true), "root"))
                .isEqualTo("tool-call ( \"\\n\" tool-call )*");
        assertThat(rule(ToolCallFormat.MISTRAL.grammar(TOOLS, ToolChoice.REQUIRED, true), "root"))
                .isEqualTo("\"[TOOL_CALLS][\" tool-call ( \", \" tool-call )* \"]\"");
        Grammar named = ToolCallFormat.MISTRAL_NAMED.grammar(TOOLS, ToolChoice.REQUIRED, true);
        assertThat(rule(named, "root")).isEqualTo("tool-call (  tool-call )*");
        assertThat(rule(named, "tool-call")).isEqualTo("\"[TOOL_CALLS]\" tool-call-named");
        assertThat(rule(named, "tool-call-named"))
                .isEqualTo("\"get_time[ARGS]\" any-json-object | \"search[ARGS]\" any-json-object");
    }

    @Test
    void namedAllowsOnlyThatTool() {
        for (ToolCallFormat format : FORMATS) {
            Grammar grammar = format.grammar(TOOLS, new ToolChoice.Named("search"), false);

            assertThat(grammar.lazy()).isFalse();
            assertThat(grammar.gbnf()).as(format.name()).contains("search").doesNotContain("get_time");
        }
    }

    @Test
    void autoIsLazyAndTriggeredByTheFamilysMarker() {
        Grammar hermes = ToolCallFormat.HERMES.grammar(TOOLS, ToolChoice.AUTO, true);
        Grammar llama = ToolCallFormat.LLAMA3.grammar(TOOLS, ToolChoice.AUTO, false);
        Grammar mistral = ToolCallFormat.MISTRAL.grammar(TOOLS, ToolChoice.AUTO, false);
        Grammar harmony = ToolCallFormat.HARMONY.grammar(TOOLS, ToolChoice.AUTO, false);

        assertThat(hermes.triggers()).containsExactly("<tool_call>");
        assertThat(mistral.triggers()).containsExactly("[TOOL_CALLS]");
        assertThat(llama.triggers()).containsExactly("<|python_tag|>");
        assertThat(harmony.triggers()).containsExactly("to=functions.");
        assertThat(rule(llama, "root")).isEqualTo("\"<|python_tag|>\"? tool-call");
        assertThat(rule(harmony, "root")).isEqualTo("\"to=functions.\" tool-call");
    }

    @Test
    void harmonyForcesTheCommentaryChannelAndAcceptsEitherHeaderOrder() {
        Grammar grammar = ToolCallFormat.HARMONY.grammar(TOOLS, ToolChoice.REQUIRED, true);

        assertThat(rule(grammar, "root")).isEqualTo("\"<|channel|>commentary to=functions.\" tool-call");
        assertThat(rule(grammar, "tool-call-content-type")).contains("\" <|constrain|>json<|message|>\"",
                "\"<|channel|>commentary json<|message|>\"");
    }

    @Test
    void rejectsChoicesTheToolsCannotMeet() {
        for (ToolCallFormat format : FORMATS) {
            assertThatThrownBy(() -> format.grammar(TOOLS, new ToolChoice.Named("delete_everything"), false))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.getMessage()).contains("delete_everything");
                    });
            assertThatThrownBy(() -> format.grammar(List.of(), ToolChoice.REQUIRED, false))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("required");
        }
    }

    @Test
    void treatsOnlySchemasThatSayNothingButObjectAsAnyObject() {
        assertThat(ToolGrammars.anyObject(ToolPromptTest.json("{}"))).isTrue();
        assertThat(ToolGrammars.anyObject(ToolPromptTest.json("{\"type\": \"object\", \"properties\": {}, \"required\": []}")))
                .isTrue();
        assertThat(ToolGrammars.anyObject(ToolPromptTest.json("{\"type\": \"object\", \"properties\": {\"q\": {}}}")))
                .isFalse();
        assertThat(ToolGrammars.anyObject(ToolPromptTest.json("{\"type\": \"object\", \"additionalProperties\": false}")))
                .isFalse();
    }

    private static String rule(Grammar grammar, String name) {
        return grammar.gbnf().lines()
                .filter(line -> line.startsWith(name + " ::= "))
                .map(line -> line.substring(name.length() + 5))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no rule " + name + " in\n" + grammar.gbnf()));
    }
}
