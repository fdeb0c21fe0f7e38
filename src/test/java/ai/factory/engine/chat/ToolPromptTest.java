package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ToolPromptTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-14T09:26:53Z"), ZoneOffset.UTC);
    private static final ToolSpec WEATHER = new ToolSpec("get_weather", "Current weather in a city",
            json("{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}"));
    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are terse."),
            ChatMessage.user("Weather in Paris and Oslo?"),
            ChatMessage.assistantCalls("", List.of(
                    new ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}"),
                    new ToolCall("call_2", "get_weather", "{\"city\":\"Oslo\"}"))),
            ChatMessage.toolResult("call_1", "18C"),
            ChatMessage.toolResult("call_2", "9C"));

    /** A tool-aware template in the style of Hugging Face templates, written for this test. */
    private static final String TOOL_AWARE = """
            {%- if tools %}[TOOLS]{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters | tojson }};{% endfor %}[/TOOLS]
            {% endif %}
            {%- for m in messages %}
            {%- if m.role == 'tool' %}[RESULT {{ m.tool_call_id }}]{{ m.content }}
            {% elif m.tool_calls is defined %}[{{ m.role }}]{% if m.content %}{{ m.content }}{% endif %}
            {%- for c in m.tool_calls %}<call id={{ c.id }} type={{ c.type }}>{{ c.function.name }}{{ c.function.arguments | tojson }}</call>{% endfor %}{{ '\\n' }}
            {%- else %}[{{ m.role }}]{{ m.content }}
            {% endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}[assistant]{% endif %}""";

    @Test
    void describesToolsGenericallyToATemplateWithoutToolSupport() {
        ChatTemplate chatml = ChatFormats.byName("chatml", CLOCK);

        String prompt = chatml.render(CONVERSATION, List.of(WEATHER), true, "", "");

        assertThat(chatml.supportsTools()).isFalse();
        assertThat(chatml.toolCallFormat()).isEqualTo(ToolCallFormat.GENERIC);
        assertThat(prompt).isEqualTo("""
                <|im_start|>system
                You are terse.

                # Tools

                You may call one or more functions to assist with the user query.

                You are provided with function signatures within <tools></tools> XML tags:
                <tools>
                {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city", \
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                </tools>

                For each function call, return a json object with function name and arguments within \
                <tool_call></tool_call> XML tags:
                <tool_call>
                {"name": <function-name>, "arguments": <args-json-object>}
                </tool_call><|im_end|>
                <|im_start|>user
                Weather in Paris and Oslo?<|im_end|>
                <|im_start|>assistant
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris"}}
                </tool_call>
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Oslo"}}
                </tool_call><|im_end|>
                <|im_start|>user
                <tool_response>
                18C
                </tool_response>
                <tool_response>
                9C
                </tool_response><|im_end|>
                <|im_start|>assistant
                """);
    }

    @Test
    void addsASystemMessageForToolsWhenThereIsNone() {
        String prompt = ChatFormats.byName("chatml", CLOCK)
                .render(List.of(ChatMessage.user("Hi")), List.of(WEATHER), true, "", "");

        assertThat(prompt).startsWith("<|im_start|>system\n# Tools\n").contains("<|im_start|>user\nHi<|im_end|>");
    }

    @Test
    void genericCallsKeepTheAssistantsTextAndUnparsableArguments() {
        String prompt = ChatFormats.byName("chatml", CLOCK).render(List.of(
                ChatMessage.user("Hi"),
                ChatMessage.assistantCalls("Checking.", List.of(new ToolCall("c", "f", "not json")))), List.of(), false, "", "");

        assertThat(prompt).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n"
                + "{\"name\": \"f\", \"arguments\": \"not json\"}\n</tool_call><|im_end|>\n");
    }

    @Test
    void genericToolResultsKeepAlternatingRolesForStrictTemplates() {
        ChatTemplate llama2 = ChatFormats.byName("llama2", CLOCK);

        String prompt = llama2.render(List.of(
                ChatMessage.user("Weather?"),
                ChatMessage.assistantCalls("", List.of(new ToolCall("c", "get_weather", "{}"))),
                ChatMessage.toolResult("c", "18C"),
                ChatMessage.user("Thanks, and tomorrow?")), List.of(WEATHER), true, "<s>", "</s>");

        assertThat(prompt).contains("[INST] <tool_response>\n18C\n</tool_response>\nThanks, and tomorrow? [/INST]");
    }

    @Test
    void passesToolsAndCallsToATemplateThatSupportsThem() {
        ChatTemplate template = ChatTemplate.compile(TOOL_AWARE, CLOCK);

        String prompt = template.render(CONVERSATION, List.of(WEATHER), true, "", "");

        assertThat(template.supportsTools()).isTrue();
        assertThat(prompt).isEqualTo("""
                [TOOLS]get_weather:{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]};[/TOOLS]
                [system]You are terse.
                [user]Weather in Paris and Oslo?
                [assistant]<call id=call_1 type=function>get_weather{"city": "Paris"}</call>\
                <call id=call_2 type=function>get_weather{"city": "Oslo"}</call>
                [RESULT call_1]18C
                [RESULT call_2]9C
                [assistant]""");
    }

    @Test
    void leavesToolsUndefinedWhenThereAreNone() {
        String prompt = ChatTemplate.compile(TOOL_AWARE, CLOCK).render(List.of(ChatMessage.user("Hi")), List.of(), true, "", "");

        assertThat(prompt).isEqualTo("[user]Hi\n[assistant]");
    }

    @Test
    void rendersToolTurnsThroughQwensOwnTemplate() {
        ChatTemplate qwen = ChatTemplate.compile(fixture("Qwen-Qwen2.5-7B-Instruct.jinja"), CLOCK);

        String prompt = qwen.render(CONVERSATION, List.of(WEATHER), true, "", "");

        assertThat(qwen.toolCallFormat()).isEqualTo(ToolCallFormat.HERMES);
        assertThat(prompt).contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"")
                .contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>")
                .contains("<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n9C\n</tool_response><|im_end|>")
                .endsWith("<|im_start|>assistant\n");
    }

    @Test
    void rendersAToolRoundTripThroughTheOtherFamiliesOwnTemplates() {
        List<ChatMessage> roundTrip = List.of(ChatMessage.user("Weather in Paris?"),
                ChatMessage.assistantCalls("", List.of(new ToolCall("abc123def", "get_weather", "{\"city\": \"Paris\"}"))),
                ChatMessage.toolResult("abc123def", "18C"));

        assertThat(ChatTemplate.compile(fixture("meta-llama-Llama-3.1-8B-Instruct.jinja"), CLOCK)
                .render(roundTrip, List.of(WEATHER), true, "<|begin_of_text|>", "<|eot_id|>"))
                .contains("\"name\": \"get_weather\",")
                .contains("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": "
                        + "{\"city\": \"Paris\"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n18C<|eot_id|>");
        assertThat(ChatTemplate.compile(fixture("Mistral-Small-3.2-24B-Instruct-2506.jinja"), CLOCK)
                .render(roundTrip, List.of(WEATHER), true, "<s>", "</s>"))
                .contains("[AVAILABLE_TOOLS][{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"")
                .endsWith("[INST]Weather in Paris?[/INST][TOOL_CALLS]get_weather[CALL_ID]abc123def[ARGS]{\"city\": \"Paris\"}</s>"
                        + "[TOOL_RESULTS]abc123def[TOOL_CONTENT]18C[/TOOL_RESULTS]");
        assertThat(ChatTemplate.compile(fixture("openai-gpt-oss-120b.jinja"), CLOCK)
                .render(roundTrip, List.of(WEATHER), true, "", ""))
                .contains("type get_weather = (_: {\ncity: string,\n}) => any;")
                .endsWith("<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}"
                        + "<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>\"18C\"<|end|>"
                        + "<|start|>assistant");
    }

    @Test
    void givesMistralTemplatesTheNineCharacterIdsTheyDemand() {
        ChatTemplate mistral = ChatTemplate.compile(fixture("Mistral-Small-3.2-24B-Instruct-2506.jinja"), CLOCK);
        String id = ToolPrompt.nineCharacterId("call_DKQmuJqr0e1BzJ3ODpRqS2Yz");

        String prompt = mistral.render(CONVERSATION.subList(1, CONVERSATION.size()), List.of(WEATHER), true, "<s>", "</s>");

        assertThat(id).matches("[A-Za-z0-9]{9}").isEqualTo(ToolPrompt.nineCharacterId("call_DKQmuJqr0e1BzJ3ODpRqS2Yz"));
        assertThat(ToolPrompt.nineCharacterId("abc123XYZ")).isEqualTo("abc123XYZ");
        String first = ToolPrompt.nineCharacterId("call_1");
        assertThat(prompt).contains("[TOOL_CALLS]get_weather[CALL_ID]" + first + "[ARGS]")
                .contains("[TOOL_RESULTS]" + first + "[TOOL_CONTENT]18C[/TOOL_RESULTS]");
    }

    @Test
    void describesToolsGenericallyInTheFirstUserTurnOfTemplatesWithoutASystemRole() {
        String prompt = ChatTemplate.compile(fixture("google-gemma-2-2b-it.jinja"), CLOCK)
                .render(List.of(ChatMessage.user("Weather?")), List.of(WEATHER), true, "<bos>", "<eos>");

        assertThat(prompt).startsWith("<bos><start_of_turn>user\n# Tools\n").contains("</tool_call>\nWeather?<end_of_turn>");
    }

    @Test
    void givesTemplatesTheToolCallFieldsHuggingFaceDefines() {
        Map<String, Object> call = ChatMessage.assistantCalls("", List.of(new ToolCall("c1", "f", "{\"n\": 1, \"l\": [true]}")))
                .toTemplateValue();
        Map<String, Object> result = ChatMessage.toolResult("c1", "ok").withName("f").toTemplateValue();

        assertThat(call).isEqualTo(Map.of("role", "assistant", "content", "", "tool_calls", List.of(Map.of(
                "id", "c1", "type", "function", "function", Map.of("name", "f", "arguments", Map.of("n", 1L, "l", List.of(true)))))));
        assertThat(result).isEqualTo(Map.of("role", "tool", "content", "ok", "name", "f", "tool_call_id", "c1"));
        assertThat(ChatMessage.user("hi").toTemplateValue()).isEqualTo(Map.of("role", "user", "content", "hi"));
    }

    @Test
    void refusesToolsPassedAsExtraContext() {
        assertThatThrownBy(() -> ChatFormats.byName("chatml", CLOCK)
                .render(List.of(ChatMessage.user("Hi")), List.of(), true, "", "", Map.of("tools", List.of())))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static JsonNode json(String text) {
        return ToolJson.parse(text);
    }

    static String fixture(String name) {
        try (InputStream in = ToolPromptTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
