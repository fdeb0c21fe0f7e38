package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ToolCallSplitterTest {
    /** Replies per format: calls, text around them, malformed calls, near-markers, plain text and whitespace. */
    private static final Map<ToolCallFormat, List<String>> REPLIES = Map.of(
            ToolCallFormat.HERMES, List.of(
                    "Let me check.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>",
                    "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": [1, 2]}}\n</tool_call>\nDone.",
                    "Broken <tool_call>{\"name\": \"a\", \"arguments\": {</tool_call> and more",
                    "Less-than signs < and <tool and <tool_ca are text.  ",
                    "\n\n  plain text, no calls\n",
                    "   <tool_call>{\"name\": \"f\"}</tool_call>   ",
                    ""),
            ToolCallFormat.LLAMA3, List.of(
                    "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
                    "  {\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"q\": \"東京\"}}",
                    "Sure.<|python_tag|>{\"name\": \"a\", \"parameters\": {}}",
                    "{\"answer\": 42} is JSON but not a call",
                    "{ \"name\": \"broken\", ",
                    "Text with {\"name\": \"inline\"} JSON <|python_ and a partial tag"),
            ToolCallFormat.MISTRAL, List.of(
                    "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"q\": \"x\"}}, {\"name\": \"b\", \"arguments\": {}}]",
                    "Checking. [TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]f[CALL_ID]abcdefghi[ARGS]{}",
                    "[TOOL_CALLS]broken[ARGS]{\"a\":",
                    "Brackets [like this] and [TOOL_ are text"),
            ToolCallFormat.HARMONY, List.of(
                    "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Tokyo\"}<|call|>",
                    "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant to=functions.f<|channel|>commentary json<|message|>{}<|call|>",
                    "<|channel|>final<|message|>Go to the store, to=somewhere.<|return|>",
                    "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\":"));

    @Test
    void streamedContentEqualsParsedContentForEverySplit() {
        SplittableRandom random = new SplittableRandom(20261205);
        REPLIES.forEach((format, replies) -> {
            for (String reply : replies) {
                ToolOutput whole = format.parse(reply, new SplittableRandom(1));
                for (int trial = 0; trial < 200; trial++) {
                    List<String> pieces = trial == 0 ? characters(reply) : randomSplit(reply, random);
                    ToolCallSplitter splitter = format.splitter(new SplittableRandom(1));
                    StringBuilder streamed = new StringBuilder();
                    pieces.forEach(piece -> streamed.append(splitter.accept(piece)));
                    ToolOutput rest = splitter.finish();

                    assertThat(streamed + rest.content()).as("%s %s split as %s", format.name(), reply, pieces)
                            .isEqualTo(whole.content());
                    assertThat(rest.calls()).isEqualTo(whole.calls());
                }
            }
        });
    }

    @Test
    void sendsTextBeforeACallAtOnceAndHoldsTheCall() {
        ToolCallSplitter splitter = ToolCallFormat.HERMES.splitter(new SplittableRandom(1));

        assertThat(splitter.accept("Let me check the weather. <tool")).isEqualTo("Let me check the weather.");
        assertThat(splitter.accept("_call>\n{\"name\": \"get_weather\", ")).isEmpty();
        assertThat(splitter.accept("\"arguments\": {}}\n</tool_call>")).isEmpty();
        ToolOutput rest = splitter.finish();

        assertThat(rest.content()).isEmpty();
        assertThat(rest.calls()).extracting(ToolCall::name).containsExactly("get_weather");
    }

    @Test
    void releasesAHeldPrefixThatTurnsOutNotToBeAMarker() {
        ToolCallSplitter splitter = ToolCallFormat.HERMES.splitter(new SplittableRandom(1));

        assertThat(splitter.accept("a <tool")).isEqualTo("a");
        assertThat(splitter.accept("box> b")).isEqualTo(" <toolbox> b");
        assertThat(splitter.finish()).isEqualTo(new ToolOutput("", List.of()));
    }

    @Test
    void streamsPlainLlamaRepliesThatStartWithJsonThatIsNoCall() {
        ToolCallSplitter splitter = ToolCallFormat.LLAMA3.splitter(new SplittableRandom(1));

        assertThat(splitter.accept("{")).isEmpty();
        assertThat(splitter.accept("\"answer\": 42}")).isEqualTo("{\"answer\": 42}");
    }

    private static List<String> characters(String text) {
        return text.codePoints().mapToObj(Character::toString).toList();
    }

    private static List<String> randomSplit(String text, SplittableRandom random) {
        List<String> pieces = new ArrayList<>();
        int position = 0;
        while (position < text.length()) {
            int end = Math.min(text.length(), position + 1 + random.nextInt(12));
            if (end < text.length() && Character.isLowSurrogate(text.charAt(end))) {
                end++;
            }
            pieces.add(text.substring(position, end));
            position = end;
        }
        return pieces;
    }
}
