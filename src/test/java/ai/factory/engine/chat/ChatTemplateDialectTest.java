package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Jinja2 and Hugging Face features chat templates lean on, each where Jinjava on its own differs. Every
 * expected string was produced by Jinja2 3.1.6 configured as Hugging Face transformers configures it
 * ({@code trim_blocks}, {@code lstrip_blocks}, its {@code tojson}, {@code raise_exception}, {@code strftime_now}
 * and {@code {% generation %}}), from the same template and variables.
 */
class ChatTemplateDialectTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-14T09:26:53Z"), ZoneOffset.UTC);
    private static final List<ChatMessage> CONVERSATION =
            List.of(ChatMessage.user("Hello"), ChatMessage.assistant("Hi"), ChatMessage.user("Bye"));

    @Test
    void callsPythonStringMethods() {
        assertThat(render("{{ '  a b  '.strip() }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|{{ 'xxhixx'.strip('x') }}|"
                + "{{ 'tool_x'.startswith('tool') }}|{{ 'a.md'.endswith(('.txt', '.md')) }}|{{ ' a  b '.split() }}|"
                + "{{ 'a<think>b</think>c'.split('</think>')[-1] }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'Mixed'.upper() }}|"
                + "{{ 'Mixed'.lower() }}|{{ 'hello world'.title() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ '-'.join(['x', 'y']) }}|"
                + "{{ '<{}:{}>'.format('a', 1) }}"))
                .isEqualTo("a b|a|a|hi|True|True|['a', 'b']|c|['a', 'b,c']|MIXED|mixed|Hello World|bba|x-y|<a:1>");
    }

    @Test
    void writesJsonAsPythonJsonDumpsDoesNeverHtmlEscaped() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("b", Arrays.asList(1, 2.5, true, null));
        value.put("a", "<é & \"q\">");

        assertThat(render("{{ value | tojson }}\n{{ value | tojson(indent=2) }}\n{{ value | tojson(ensure_ascii=true, sort_keys=true) }}\n"
                + "{{ 'say \"hi\"\\n' | tojson }}", Map.of("value", value)))
                .isEqualTo("{\"b\": [1, 2.5, true, null], \"a\": \"<é & \\\"q\\\">\"}\n"
                        + "{\n  \"b\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"a\": \"<é & \\\"q\\\">\"\n}\n"
                        + "{\"a\": \"<\\u00e9 & \\\"q\\\">\", \"b\": [1, 2.5, true, null]}\n"
                        + "\"say \\\"hi\\\"\\n\"");
    }

    @Test
    void writesFloatsAsPythonReprDoes() {
        assertThat(PythonJson.floatRepr(1.0)).isEqualTo("1.0");
        assertThat(PythonJson.floatRepr(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.floatRepr(1e-5)).isEqualTo("1e-05");
        assertThat(PythonJson.floatRepr(123456789.0)).isEqualTo("123456789.0");
        assertThat(PythonJson.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.floatRepr(-2.5e-7)).isEqualTo("-2.5e-07");
    }

    @Test
    void setsNamespaceAttributesAndReadsLoopVariables() {
        assertThat(render("{% set ns = namespace(count=0, last='') %}{% for m in messages %}{% if m.role == 'user' %}"
                + "{% set ns.count = ns.count + 1 %}{% set ns.last = m.content %}{% endif %}"
                + "{{ loop.index0 }}{{ 'F' if loop.first }}{{ 'L' if loop.last }} {% endfor %}{{ ns.count }}:{{ ns.last }}"))
                .isEqualTo("0F 1 2L 2:Bye");
    }

    @Test
    void indexesSlicesAndTestsAsJinja2Does() {
        assertThat(render("{{ messages[0]['role'] }}|{{ messages[1:] | length }}|{{ messages[-1].content }}|"
                + "{{ messages[::-1][0].content }}|{{ tools is defined }}|{{ not tools is defined }}|{{ 'content' in messages[0] }}|"
                + "{{ 'name' in messages[0] }}|{{ 'ell' in messages[1].content }}|{{ 'x' not in ['a'] }}|{{ not 'b' in ['a'] }}"))
                .isEqualTo("user|2|Bye|Bye|False|True|True|False|False|True|True");
    }

    @Test
    void computesSliceBoundsKeywordArgumentsAndUnspacedOperators() {
        assertThat(render("{% set ns = namespace(last=messages|length - 1) %}{{ ns.last }}|{{ messages[:ns.last+1]|length }}|"
                + "{{ 1+2 }}|{{ 7 // 2 }}|{{ 2 ** 3 }}|{{ 7 % 3 }}"))
                .isEqualTo("2|3|3|3|8|1");
    }

    @Test
    void stripsWhitespaceWithTrimAndLstripBlocks() {
        assertThat(render("{% for m in messages %}\n    {% if m.role == 'user' %}\nU:{{ m.content }}\n    {% endif %}\n{% endfor %}\n"
                + "{%- if add_generation_prompt %}\nA:\n{%- endif %}\n"))
                .isEqualTo("U:Hello\nU:Bye\nA:");
    }

    @Test
    void stripsWhitespaceAroundCommentsAsJinja2Does() {
        assertThat(render("a\n\n{# c #}\n    {%- if true %}X{% endif %}")).isEqualTo("a\n\nX");
        assertThat(render("a {#- c #} b|a {# c -#} b|a {# c #}\nb")).isEqualTo("a b|a b|a b");
        assertThat(render("{% for i in range(2) %}{{ i }} {% endfor %}|{{ 'v' }}  {% if true %}t{% endif %}")).isEqualTo("0 1 |v  t");
    }

    @Test
    void keepsTheGenerationPromptNewlineButDropsTheTemplatesLastOne() {
        assertThat(render("{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\n"))
                .isEqualTo("<|im_start|>assistant\n");
    }

    @Test
    void rendersGenerationBlocksAsTheirContent() {
        assertThat(render("{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
                + "{% else %}{{ m.content }}{% endif %}|{% endfor %}"))
                .isEqualTo("Hello|Hi|Bye|");
    }

    @Test
    void filtersLoopsBeforeCountingThem() {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", "f");
        tool.put("return", "x");

        assertThat(render("{% for k, v in tool.items() if k != 'return' %}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}|"
                + "{% for m in messages if m.role == 'user' %}{{ loop.index }}:{{ m.content }}{{ ' ' if not loop.last }}{% endfor %}",
                Map.of("tool", tool)))
                .isEqualTo("name=f|1:Hello 2:Bye");
    }

    @Test
    void breaksAndContinuesLoops() {
        assertThat(render("{% for m in messages %}{% if loop.index0 == 2 %}{% break %}{% endif %}"
                + "{% if m.role == 'assistant' %}{% continue %}{% endif %}{{ m.content }};{% endfor %}"))
                .isEqualTo("Hello;");
    }

    @Test
    void printsValuesAsPythonDoes() {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", "f");
        tool.put("return", "x");

        assertThat(render("{{ tool }}|{{ flag }}|{{ [1, none, 'x', 2.5] }}|{{ missing }}|{{ tool | string }}",
                Map.of("tool", tool, "flag", true)))
                .isEqualTo("{'name': 'f', 'return': 'x'}|True|[1, None, 'x', 2.5]||{'name': 'f', 'return': 'x'}");
    }

    @Test
    void iteratesItemsAndCallsMacrosWithKeywords() {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", "f");
        tool.put("return", "x");

        assertThat(render("{% for k, v in tool | items %}{{ k }}:{{ v }};{% endfor %}", Map.of("tool", tool)))
                .isEqualTo("name:f;return:x;");
        assertThat(render("{% macro turn(role, text='') %}<{{ role }}>{{ text | trim }}</{{ role }}>{% endmacro %}"
                + "{% for m in messages %}{{ turn(m.role, text=m.content) }}{% endfor %}"))
                .isEqualTo("<user>Hello</user><assistant>Hi</assistant><user>Bye</user>");
    }

    @Test
    void appliesFilterBlocks() {
        assertThat(render("{% filter upper %}{{ messages[0].content }} {{ messages[-1].content }}{% endfilter %}"))
                .isEqualTo("HELLO BYE");
    }

    @Test
    void formatsTheClockWithStrftimeNow() {
        assertThat(render("{{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %B %j %p %I %y %%') }}"))
                .isEqualTo("2025-03-14 09:26:53 Fri Friday Mar March 073 AM 09 25 %");
        assertThat(render("{{ strftime_now is defined }}")).isEqualTo("True");
    }

    @Test
    void countsRangesAsPythonDoes() {
        assertThat(render("{{ range(3)|list }}|{{ range(1, 7, 2)|list }}|{{ range(5, 0, -2)|list }}"))
                .isEqualTo("[0, 1, 2]|[1, 3, 5]|[5, 3, 1]");
    }

    @Test
    void readsEscapesInStringLiterals() {
        assertThat(render("{{ 'a\\tb\\\\n' }}|{{ \"it's\" }}|{{ 'say \"x\"' }}")).isEqualTo("a\tb\\n|it's|say \"x\"");
    }

    @Test
    void raisesFromInsideMacrosAsAnInvalidRequest() {
        ChatTemplate template = ChatTemplate.compile("{% macro check(m) %}{% if m.role == 'tool' %}"
                + "{{ raise_exception('Tool messages need a preceding tool call') }}{% endif %}{% endmacro %}"
                + "{% for m in messages %}{{ check(m) }}{{ m.content }}{% endfor %}", CLOCK);

        assertThatThrownBy(() -> template.render(List.of(ChatMessage.tool("42")), true, "", ""))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessage("Tool messages need a preceding tool call");
    }

    @Test
    void passesMessageNamesToTheTemplate() {
        assertThat(render("{% for m in messages %}{{ m.name if m.name is defined else '-' }};{% endfor %}",
                List.of(ChatMessage.user("Hello").withName("alice"), ChatMessage.assistant("Hi")), Map.of()))
                .isEqualTo("alice;-;");
    }

    private static String render(String template) {
        return render(template, Map.of());
    }

    private static String render(String template, Map<String, Object> extraContext) {
        return render(template, CONVERSATION, extraContext);
    }

    private static String render(String template, List<ChatMessage> messages, Map<String, Object> extraContext) {
        return ChatTemplate.compile(template, CLOCK).render(messages, true, "", "", extraContext);
    }
}
