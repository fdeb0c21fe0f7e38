package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ToolCallParsingTest {
    private static ToolOutput parse(ToolCallFormat format, String text) {
        return format.parse(text, new SplittableRandom(7));
    }

    @Test
    void hermesReadsOneCall() {
        ToolOutput output = parse(ToolCallFormat.HERMES,
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>");

        assertThat(output.content()).isEmpty();
        assertThat(output.calls()).singleElement().satisfies(call -> {
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\",\"days\":3}");
            assertThat(call.id()).matches("call_[A-Za-z0-9]{24}");
        });
    }

    @Test
    void hermesReadsParallelCallsAndKeepsTheTextAround() {
        ToolOutput output = parse(ToolCallFormat.HERMES, "Let me check both.\n\n"
                + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>\nOne moment.");

        assertThat(output.content()).isEqualTo("Let me check both.\nOne moment.");
        assertThat(output.calls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(output.calls()).extracting(ToolCall::arguments).containsExactly("{\"city\":\"Paris\"}", "{}");
        assertThat(output.calls().get(0).id()).isNotEqualTo(output.calls().get(1).id());
    }

    @Test
    void hermesAcceptsArgumentsAsJsonTextAndAMissingCloseAtTheEnd() {
        ToolOutput output = parse(ToolCallFormat.HERMES,
                "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2]}\"}");

        assertThat(output.calls()).singleElement().satisfies(call -> assertThat(call.arguments()).isEqualTo("{\"a\":[1,2]}"));
        assertThat(output.content()).isEmpty();
    }

    @Test
    void hermesKeepsMalformedCallsAsText() {
        String broken = "Sure <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call>";
        String nameless = "<tool_call>{\"arguments\": {}}</tool_call>";
        String notAnObject = "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>";
        String badName = "<tool_call>{\"name\": \"no spaces allowed\", \"arguments\": {}}</tool_call>";

        for (String text : List.of(broken, nameless, notAnObject, badName, "<tool_call>", "a <tool_call> b")) {
            assertThat(parse(ToolCallFormat.HERMES, text)).isEqualTo(new ToolOutput(text, List.of()));
        }
    }

    @Test
    void hermesReadsAGoodCallAfterABrokenOne() {
        ToolOutput output = parse(ToolCallFormat.HERMES,
                "<tool_call>{oops}</tool_call>\n<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>");

        assertThat(output.content()).isEqualTo("<tool_call>{oops}</tool_call>");
        assertThat(output.calls()).extracting(ToolCall::name).containsExactly("f");
    }

    @Test
    void keepsUnicodeInArguments() {
        ToolOutput output = parse(ToolCallFormat.HERMES,
                "<tool_call>{\"name\": \"translate\", \"arguments\": {\"text\": \"Zürich \\u00e9t\u00e9 東京 🌧\"}}</tool_call>");

        assertThat(output.calls().getFirst().arguments()).isEqualTo("{\"text\":\"Zürich été 東京 🌧\"}");
    }

    @Test
    void plainTextIsKeptExactly() {
        String text = "  Hello,\n\nno tools today.  \n";

        for (ToolCallFormat format : List.of(ToolCallFormat.HERMES, ToolCallFormat.LLAMA3, ToolCallFormat.MISTRAL,
                ToolCallFormat.HARMONY)) {
            assertThat(parse(format, text)).isEqualTo(new ToolOutput(text, List.of()));
        }
    }

    @Test
    void idsComeFromTheGivenRandomSource() {
        String text = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";

        assertThat(parse(ToolCallFormat.HERMES, text)).isEqualTo(parse(ToolCallFormat.HERMES, text));
    }

    @Test
    void llama3ReadsAReplyThatIsACall() {
        ToolOutput output = parse(ToolCallFormat.LLAMA3,
                "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");

        assertThat(output.content()).isEmpty();
        assertThat(output.calls()).singleElement().satisfies(call -> {
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
            assertThat(call.id()).matches("call_[A-Za-z0-9]{24}");
        });
    }

    @Test
    void llama3ReadsCallsAfterThePythonTagAndSeparatedBySemicolons() {
        ToolOutput output = parse(ToolCallFormat.LLAMA3, "I'll look.<|python_tag|>"
                + "{\"type\": \"function\", \"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"x\": 1}}");

        assertThat(output.content()).isEqualTo("I'll look.");
        assertThat(output.calls()).extracting(ToolCall::name, ToolCall::arguments)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("a", "{}"), org.assertj.core.groups.Tuple.tuple("b", "{\"x\":1}"));
    }

    @Test
    void llama3TakesJsonInsideTextOrWithoutANameAsText() {
        for (String text : List.of(
                "The answer is {\"name\": \"f\", \"parameters\": {}}",
                "{\"answer\": 42}",
                "{\"name\": \"f\", \"parameters\": {\"a\": }",
                "{\"type\": \"object\", \"name\": \"f\", \"parameters\": {}}")) {
            assertThat(parse(ToolCallFormat.LLAMA3, text)).isEqualTo(new ToolOutput(text, List.of()));
        }
    }

    @Test
    void mistralReadsTheJsonArrayForm() {
        ToolOutput output = parse(ToolCallFormat.MISTRAL, "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"q\": \"x\"}, "
                + "\"id\": \"abc123XYZ\"}, {\"name\": \"b\", \"arguments\": {}}]");

        assertThat(output.content()).isEmpty();
        assertThat(output.calls()).extracting(ToolCall::name).containsExactly("a", "b");
        assertThat(output.calls().get(0).id()).isEqualTo("abc123XYZ");
        assertThat(output.calls().get(1).id()).matches("[A-Za-z0-9]{9}");
        assertThat(output.calls().get(0).arguments()).isEqualTo("{\"q\":\"x\"}");
    }

    @Test
    void mistralReadsTheNamedFormWithAndWithoutCallIds() {
        ToolOutput output = parse(ToolCallFormat.MISTRAL, "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}"
                + "[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{}");

        assertThat(output.content()).isEqualTo("Checking.");
        assertThat(output.calls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(output.calls().get(0).arguments()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(output.calls().get(0).id()).matches("[A-Za-z0-9]{9}");
        assertThat(output.calls().get(1).id()).isEqualTo("a1b2c3d4e");
    }

    @Test
    void mistralKeepsMalformedCallsAsText() {
        for (String text : List.of("[TOOL_CALLS] [{\"name\": \"a\"", "[TOOL_CALLS]bad name[ARGS]{}",
                "[TOOL_CALLS][{\"arguments\": {}}]", "[TOOL_CALLS]f[ARGS]{\"a\":", "[TOOL_CALLS] []")) {
            assertThat(parse(ToolCallFormat.MISTRAL, text)).isEqualTo(new ToolOutput(text, List.of()));
        }
    }

    @Test
    void harmonyReadsACallToAFunction() {
        ToolOutput output = parse(ToolCallFormat.HARMONY,
                "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Tokyo\"}<|call|>");

        assertThat(output.content()).isEmpty();
        assertThat(output.calls()).singleElement().satisfies(call -> {
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(call.arguments()).isEqualTo("{\"city\":\"Tokyo\"}");
        });
    }

    @Test
    void harmonyReadsTheRecipientFirstFormAfterAnalysis() {
        ToolOutput output = parse(ToolCallFormat.HARMONY, "<|channel|>analysis<|message|>Need weather.<|end|>"
                + "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Oslo\"}<|call|>");

        assertThat(output.content()).isEqualTo("<|channel|>analysis<|message|>Need weather.<|end|>");
        assertThat(output.calls()).extracting(ToolCall::name).containsExactly("get_weather");
    }

    @Test
    void harmonyKeepsABrokenCallAsText() {
        String text = "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\": <|call|>";

        assertThat(parse(ToolCallFormat.HARMONY, text)).isEqualTo(new ToolOutput(text, List.of()));
    }
}
