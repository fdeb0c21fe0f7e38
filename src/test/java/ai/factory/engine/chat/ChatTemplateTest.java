package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Renders the published chat templates of several model families (fixtures under {@code chat-templates/}, as the
 * model repositories ship them in {@code tokenizer_config.json}) and compares with the exact prompts the
 * reference renderers produce.
 *
 * <p>The conversation is llama.cpp's test conversation (system, user, assistant, user, assistant, user). Where
 * llama.cpp's {@code tests/test-chat-template.cpp} has the template, the expected string is copied from it.
 * The others were rendered with Jinja2 3.1.6 configured as Hugging Face transformers configures it
 * ({@code trim_blocks}, {@code lstrip_blocks}, its {@code tojson}, {@code raise_exception} and
 * {@code strftime_now}) with the clock below.
 */
class ChatTemplateTest {
    /** 2025-03-14 09:26:53 UTC: Llama 3.2 prints "14 Mar 2025", gpt-oss and Mistral "2025-03-14". */
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-14T09:26:53Z"), ZoneOffset.UTC);

    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant"),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"),
            ChatMessage.assistant("   I am an assistant   "),
            ChatMessage.user("Another question"));

    private static final Map<String, Object> WEATHER_TOOL = ordered(
            "type", "function",
            "function", ordered(
                    "name", "get_weather",
                    "description", "Get the current weather in a city",
                    "parameters", ordered(
                            "type", "object",
                            "properties", ordered("city", ordered(
                                    "type", "string",
                                    "description", "City name, e.g. Zürich")),
                            "required", List.of("city"))));

    @Test
    void rendersChatMlAsLlamaCppExpects() {
        ChatTemplate chatml = ChatTemplate.compile("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");

        assertThat(chatml.render(CONVERSATION, true, "", ""))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                        + "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
                        + "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void rendersLlama31WithItsDefaultDateAndTrimmedTurns() {
        assertThat(fixture("meta-llama-Llama-3.1-8B-Instruct").render(CONVERSATION, true, "<|begin_of_text|>", "<|eot_id|>"))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                        + "\n"
                        + "Cutting Knowledge Date: December 2023\n"
                        + "Today Date: 26 Jul 2024\n"
                        + "\n"
                        + "You are a helpful assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                        + "\n"
                        + "Hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                        + "\n"
                        + "Hi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                        + "\n"
                        + "Who are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                        + "\n"
                        + "I am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                        + "\n"
                        + "Another question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                        + "\n");
    }

    @Test
    void rendersLlama31ToolsIntoTheFirstUserTurnAsIndentedJson() {
        String prompt = fixture("meta-llama-Llama-3.1-8B-Instruct")
                .render(CONVERSATION.subList(0, 2), true, "<|begin_of_text|>", "<|eot_id|>", Map.of("tools", List.of(WEATHER_TOOL)));

        assertThat(prompt).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                + "\n"
                + "Environment: ipython\n"
                + "Cutting Knowledge Date: December 2023\n"
                + "Today Date: 26 Jul 2024\n"
                + "\n"
                + "You are a helpful assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                + "\n"
                + "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n"
                + "\n"
                + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n"
                + "\n"
                + "{\n"
                + "    \"type\": \"function\",\n"
                + "    \"function\": {\n"
                + "        \"name\": \"get_weather\",\n"
                + "        \"description\": \"Get the current weather in a city\",\n"
                + "        \"parameters\": {\n"
                + "            \"type\": \"object\",\n"
                + "            \"properties\": {\n"
                + "                \"city\": {\n"
                + "                    \"type\": \"string\",\n"
                + "                    \"description\": \"City name, e.g. Zürich\"\n"
                + "                }\n"
                + "            },\n"
                + "            \"required\": [\n"
                + "                \"city\"\n"
                + "            ]\n"
                + "        }\n"
                + "    }\n"
                + "}\n"
                + "\n"
                + "Hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                + "\n");
    }

    @Test
    void rendersLlama32TodayDateFromTheClock() {
        assertThat(fixture("meta-llama-Llama-3.2-3B-Instruct").render(CONVERSATION.subList(0, 2), true, "<|begin_of_text|>", "<|eot_id|>"))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                        + "\n"
                        + "Cutting Knowledge Date: December 2023\n"
                        + "Today Date: 14 Mar 2025\n"
                        + "\n"
                        + "You are a helpful assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                        + "\n"
                        + "Hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                        + "\n");
    }

    @Test
    void rendersLlama32WithACallerSuppliedDate() {
        String prompt = fixture("meta-llama-Llama-3.2-3B-Instruct")
                .render(CONVERSATION.subList(0, 2), true, "<|begin_of_text|>", "<|eot_id|>", Map.of("date_string", "01 Jan 2030"));

        assertThat(prompt).contains("Today Date: 01 Jan 2030\n");
    }

    @Test
    void rendersQwen25() {
        assertThat(fixture("Qwen-Qwen2.5-7B-Instruct").render(CONVERSATION, true, "", "<|im_end|>"))
                .isEqualTo("<|im_start|>system\n"
                        + "You are a helpful assistant<|im_end|>\n"
                        + "<|im_start|>user\n"
                        + "Hello<|im_end|>\n"
                        + "<|im_start|>assistant\n"
                        + "Hi there<|im_end|>\n"
                        + "<|im_start|>user\n"
                        + "Who are you<|im_end|>\n"
                        + "<|im_start|>assistant\n"
                        + "   I am an assistant   <|im_end|>\n"
                        + "<|im_start|>user\n"
                        + "Another question<|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void rendersQwen25ToolsBranchWithPythonJsonSpacing() {
        String prompt = fixture("Qwen-Qwen2.5-7B-Instruct")
                .render(List.of(ChatMessage.user("Hello")), true, "", "<|im_end|>", Map.of("tools", List.of(WEATHER_TOOL)));

        assertThat(prompt).isEqualTo("<|im_start|>system\n"
                + "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n"
                + "\n"
                + "# Tools\n"
                + "\n"
                + "You may call one or more functions to assist with the user query.\n"
                + "\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n"
                + "<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the current weather in a city\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name, e.g. Zürich\"}}, "
                + "\"required\": [\"city\"]}}}\n"
                + "</tools>\n"
                + "\n"
                + "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n"
                + "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
                + "</tool_call><|im_end|>\n"
                + "<|im_start|>user\n"
                + "Hello<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void rendersQwen3WithThinkingSwitchedOff() {
        String prompt = fixture("Qwen-Qwen3-0.6B").render(CONVERSATION, true, "", "<|im_end|>", Map.of("enable_thinking", false));

        assertThat(prompt).isEqualTo("<|im_start|>system\n"
                + "You are a helpful assistant<|im_end|>\n"
                + "<|im_start|>user\n"
                + "Hello<|im_end|>\n"
                + "<|im_start|>assistant\n"
                + "Hi there<|im_end|>\n"
                + "<|im_start|>user\n"
                + "Who are you<|im_end|>\n"
                + "<|im_start|>assistant\n"
                + "   I am an assistant   <|im_end|>\n"
                + "<|im_start|>user\n"
                + "Another question<|im_end|>\n"
                + "<|im_start|>assistant\n"
                + "<think>\n"
                + "\n"
                + "</think>\n"
                + "\n");
    }

    @Test
    void rendersGemma3WithTheSystemPromptOpeningTheFirstUserTurn() {
        assertThat(fixture("google-gemma-3-it").render(CONVERSATION, true, "<bos>", "<eos>"))
                .isEqualTo("<bos><start_of_turn>user\n"
                        + "You are a helpful assistant\n"
                        + "\n"
                        + "Hello<end_of_turn>\n"
                        + "<start_of_turn>model\n"
                        + "Hi there<end_of_turn>\n"
                        + "<start_of_turn>user\n"
                        + "Who are you<end_of_turn>\n"
                        + "<start_of_turn>model\n"
                        + "I am an assistant<end_of_turn>\n"
                        + "<start_of_turn>user\n"
                        + "Another question<end_of_turn>\n"
                        + "<start_of_turn>model\n");
    }

    @Test
    void foldsTheSystemMessageIntoTheFirstUserTurnForGemma2WhichRejectsIt() {
        ChatTemplate gemma2 = fixture("google-gemma-2-2b-it");

        assertThat(gemma2.supportsSystemRole()).isFalse();
        // llama.cpp's expectation for google/gemma-7b-it, whose template Gemma 2 shares.
        assertThat(gemma2.render(CONVERSATION, true, "", ""))
                .isEqualTo("<start_of_turn>user\nYou are a helpful assistant\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n"
                        + "<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n"
                        + "<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
    }

    @Test
    void rendersMistralV7AsLlamaCppExpects() {
        ChatTemplate mistral = ChatTemplate.compile("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}"
                + "{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] == 'assistant' %}"
                + "{{ ' ' + message['content'] + eos_token }}{% else %}"
                + "{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}");

        assertThat(mistral.render(CONVERSATION, true, "", "</s>"))
                .isEqualTo("[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>"
                        + "[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]");
    }

    @Test
    void rendersMistralSmall32() {
        assertThat(fixture("Mistral-Small-3.2-24B-Instruct-2506").render(CONVERSATION, true, "<s>", "</s>"))
                .isEqualTo("<s>[SYSTEM_PROMPT]You are a helpful assistant[/SYSTEM_PROMPT][INST]Hello[/INST]Hi there</s>"
                        + "[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another question[/INST]");
    }

    @Test
    void rendersMistralSmall32DefaultSystemPromptWithTodaysDate() {
        String prompt = fixture("Mistral-Small-3.2-24B-Instruct-2506").render(List.of(ChatMessage.user("Hello")), true, "<s>", "</s>");

        assertThat(prompt)
                .startsWith("<s>[SYSTEM_PROMPT]You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI")
                .contains("Your knowledge base was last updated on 2023-10-01. The current date is 2025-03-14.\n")
                .endsWith("inform the user that you cannot perform the requested action at the moment.[/SYSTEM_PROMPT][INST]Hello[/INST]");
    }

    @Test
    void rendersPhi4AsLlamaCppExpects() {
        ChatTemplate phi4 = ChatTemplate.compile("{% for message in messages %}{% if (message['role'] == 'system') %}"
                + "{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'user') %}"
                + "{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|><|im_start|>assistant<|im_sep|>'}}"
                + "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}");

        assertThat(phi4.render(CONVERSATION, true, "", ""))
                .isEqualTo("<|im_start|>system<|im_sep|>You are a helpful assistant<|im_end|><|im_start|>user<|im_sep|>Hello<|im_end|>"
                        + "<|im_start|>assistant<|im_sep|>Hi there<|im_end|><|im_start|>user<|im_sep|>Who are you<|im_end|>"
                        + "<|im_start|>assistant<|im_sep|>   I am an assistant   <|im_end|><|im_start|>user<|im_sep|>Another question<|im_end|>"
                        + "<|im_start|>assistant<|im_sep|>");
    }

    @Test
    void rendersDeepSeekR1DistillOpeningAThinkBlock() {
        assertThat(fixture("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B").render(CONVERSATION, true, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"))
                .isEqualTo("<｜begin▁of▁sentence｜>You are a helpful assistant<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜>"
                        + "<｜User｜>Who are you<｜Assistant｜>   I am an assistant   <｜end▁of▁sentence｜><｜User｜>Another question"
                        + "<｜Assistant｜><think>\n</think>");
    }

    @Test
    void rendersGptOssHarmonyWithTheSystemPromptAsDeveloperInstructions() {
        assertThat(fixture("openai-gpt-oss-120b").render(CONVERSATION, true, "<|startoftext|>", "<|return|>"))
                .isEqualTo("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                        + "Knowledge cutoff: 2024-06\n"
                        + "Current date: 2025-03-14\n"
                        + "\n"
                        + "Reasoning: medium\n"
                        + "\n"
                        + "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
                        + "<|start|>developer<|message|># Instructions\n"
                        + "\n"
                        + "You are a helpful assistant\n"
                        + "\n"
                        + "<|end|><|start|>user<|message|>Hello<|end|><|start|>assistant<|channel|>final<|message|>Hi there<|end|>"
                        + "<|start|>user<|message|>Who are you<|end|><|start|>assistant<|channel|>final<|message|>   I am an assistant   <|end|>"
                        + "<|start|>user<|message|>Another question<|end|><|start|>assistant");
    }

    @Test
    void rendersGptOssToolsAsATypeScriptNamespace() {
        String prompt = fixture("openai-gpt-oss-120b").render(CONVERSATION.subList(0, 2), true, "", "",
                Map.of("tools", List.of(WEATHER_TOOL), "reasoning_effort", "high"));

        assertThat(prompt).isEqualTo("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                + "Knowledge cutoff: 2024-06\n"
                + "Current date: 2025-03-14\n"
                + "\n"
                + "Reasoning: high\n"
                + "\n"
                + "# Valid channels: analysis, commentary, final. Channel must be included for every message.\n"
                + "Calls to these tools must go to the commentary channel: 'functions'.<|end|>"
                + "<|start|>developer<|message|># Instructions\n"
                + "\n"
                + "You are a helpful assistant\n"
                + "\n"
                + "# Tools\n"
                + "\n"
                + "## functions\n"
                + "\n"
                + "namespace functions {\n"
                + "\n"
                + "// Get the current weather in a city\n"
                + "type get_weather = (_: {\n"
                + "// City name, e.g. Zürich\n"
                + "city: string,\n"
                + "}) => any;\n"
                + "\n"
                + "} // namespace functions<|end|><|start|>user<|message|>Hello<|end|><|start|>assistant");
    }

    @Test
    void turnsGemmaAlternationCheckIntoAnInvalidRequest() {
        ChatTemplate gemma3 = fixture("google-gemma-3-it");
        List<ChatMessage> twoUsers = List.of(ChatMessage.user("Hello"), ChatMessage.user("Anyone there?"));

        assertThatThrownBy(() -> gemma3.render(twoUsers, true, "<bos>", "<eos>"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessage("Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void turnsMistralAlternationCheckIntoAnInvalidRequest() {
        ChatTemplate mistral = fixture("Mistral-Small-3.2-24B-Instruct-2506");
        List<ChatMessage> twoUsers = List.of(ChatMessage.user("Hello"), ChatMessage.user("Anyone there?"));

        assertThatThrownBy(() -> mistral.render(twoUsers, true, "<s>", "</s>"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessage("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void keepsMessageTextFromBeingReadAsTemplateCode() {
        ChatTemplate chatml = ChatFormats.byName("chatml", CLOCK);
        String hostile = "{{ raise_exception('boom') }}{% include 'META-INF/MANIFEST.MF' %}{# note #}";

        assertThat(chatml.render(List.of(ChatMessage.user(hostile)), true, "", ""))
                .isEqualTo("<|im_start|>user\n" + hostile + "<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void refusesTemplatesThatLoadOtherTemplates() {
        for (String loader : List.of("{% include 'META-INF/MANIFEST.MF' %}", "{% import 'macros.jinja' as m %}",
                "{% from 'macros.jinja' import m %}", "{% extends 'base.jinja' %}")) {
            assertThatThrownBy(() -> ChatTemplate.compile(loader + "{{ messages[0].content }}", CLOCK))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                    .hasMessageContaining("disabled")
                    .hasMessageNotContaining("Manifest-Version");
        }
    }

    @Test
    void refusesJavaReflectionFromTemplates() {
        assertThatThrownBy(() -> ChatTemplate.compile("{{ messages[0].content.getClass().forName('java.lang.Runtime') }}", CLOCK))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("Cannot find method 'getClass'");
    }

    @Test
    void refusesAPromptLongerThanOneMebibyte() {
        ChatTemplate repeater = ChatTemplate.compile("{% for i in range(2000) %}{{ messages[-1].content }}{% endfor %}", CLOCK);
        String kilobyte = "x".repeat(1024);

        assertThat(repeater.render(List.of(ChatMessage.user("x")), true, "", "")).hasSize(2000);
        assertThatThrownBy(() -> repeater.render(List.of(ChatMessage.user(kilobyte)), true, "", ""))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("longer than 1 MiB");
    }

    @Test
    void stopsATemplateThatLoopsWithoutOutput() {
        String busy = "{% if messages|length > 1 %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endif %}ok";
        ChatTemplate template = ChatTemplate.compile(busy, CLOCK);

        assertThatThrownBy(() -> template.render(CONVERSATION, true, "", ""))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL))
                .hasMessageContaining("too large a range");
    }

    @Test
    void stopsATemplateThatRendersTooManyNodes() {
        String busy = "{% if messages|length > 1 %}{% for i in range(1000) %}{% for j in range(999) %}{{ '' }}{% endfor %}{% endfor %}{% endif %}ok";
        ChatTemplate template = ChatTemplate.compile(busy, CLOCK, new ChatTemplateLimits(1 << 20, 100_000, 10_000_000));

        assertThatThrownBy(() -> template.render(CONVERSATION, true, "", ""))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL))
                .hasMessageContaining("too many nodes");
    }

    @Test
    void boundsMacroRecursion() {
        ChatTemplate template = ChatTemplate.compile("{% macro deeper(n) %}{{ n }} {{ deeper(n + 1) }}{% endmacro %}{{ deeper(0) }}", CLOCK);

        assertThat(template.render(CONVERSATION, true, "", "")).hasSizeLessThan(1000);
    }

    @Test
    void rejectsATemplateThatDoesNotParse() {
        assertThatThrownBy(() -> ChatTemplate.compile("{% for message in messages %}{{ message.content }}", CLOCK))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("the chat template is not usable");
    }

    @Test
    void rejectsATemplateThatFailsOnEveryConversation() {
        assertThatThrownBy(() -> ChatTemplate.compile("{{ no_such_function() }}", CLOCK))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("no_such_function");
    }

    @Test
    void refusesExtraContextThatWouldReplaceTheConversation() {
        ChatTemplate chatml = ChatFormats.byName("chatml", CLOCK);

        assertThatThrownBy(() -> chatml.render(CONVERSATION, true, "", "", Map.of("messages", List.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'messages'");
    }

    @Test
    void rendersTheSamePromptEveryTimeFromOneCompilation() {
        // How fast a render is belongs to ChatTemplateRenderBenchmark (./factory jmh ChatTemplateRender).
        ChatTemplate llama = fixture("meta-llama-Llama-3.1-8B-Instruct");
        List<ChatMessage> longConversation = new ArrayList<>(List.of(ChatMessage.system("You are a helpful assistant")));
        for (int i = 0; i < 50; i++) {
            longConversation.add(ChatMessage.user("Question " + i));
            longConversation.add(ChatMessage.assistant("Answer " + i));
        }
        longConversation.add(ChatMessage.user("Last question"));
        String first = llama.render(longConversation, true, "<|begin_of_text|>", "<|eot_id|>");

        for (int i = 0; i < 200; i++) {
            assertThat(llama.render(longConversation, true, "<|begin_of_text|>", "<|eot_id|>")).isEqualTo(first);
        }
    }

    @Test
    void rendersFromManyThreadsAtOnce() throws Exception {
        ChatTemplate qwen = fixture("Qwen-Qwen3-0.6B");
        String expected = qwen.render(CONVERSATION, true, "", "<|im_end|>");
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<String>> renders = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                renders.add(pool.submit(() -> qwen.render(CONVERSATION, true, "", "<|im_end|>")));
            }
            for (Future<String> render : renders) {
                assertThat(render.get()).isEqualTo(expected);
            }
        }
    }

    static ChatTemplate fixture(String name) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja")) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return ChatTemplate.compile(new String(in.readAllBytes(), StandardCharsets.UTF_8), CLOCK);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A map that keeps insertion order, as JSON objects from a request do. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
