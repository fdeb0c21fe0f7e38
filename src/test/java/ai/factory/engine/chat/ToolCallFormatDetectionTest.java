package ai.factory.engine.chat;

import static ai.factory.engine.chat.ToolPromptTest.fixture;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ToolCallFormatDetectionTest {
    @Test
    void detectsHermesFromToolCallTags() {
        assertThat(ToolCallFormat.detect("{% if tools %}Answer with <tool_call>{\"name\": ...}</tool_call>{% endif %}"))
                .isEqualTo(ToolCallFormat.HERMES);
    }

    @Test
    void detectsLlama3FromThePythonTagOrTheParametersInstruction() {
        assertThat(ToolCallFormat.detect("{% for t in tools %}{% endfor %}{{ '<|python_tag|>' }}"))
                .isEqualTo(ToolCallFormat.LLAMA3);
        assertThat(ToolCallFormat.detect("{{ '<|start_header_id|>' }}{% if tools is not none %}"
                + "{{ 'Respond in the format {\"name\": function name, \"parameters\": dictionary}.' }}{% endif %}"))
                .isEqualTo(ToolCallFormat.LLAMA3);
    }

    @Test
    void detectsMistralFromTheToolCallsTokenAndItsFormFromTheArgsToken() {
        assertThat(ToolCallFormat.detect("{% if tools %}[AVAILABLE_TOOLS]{{ tools|tojson }}[/AVAILABLE_TOOLS]{% endif %}"
                + "{{ '[TOOL_CALLS]' + tool_calls|tojson }}")).isEqualTo(ToolCallFormat.MISTRAL);
        assertThat(ToolCallFormat.detect("{% if tools %}[AVAILABLE_TOOLS]{{ tools|tojson }}[/AVAILABLE_TOOLS]{% endif %}"
                + "{{ '[TOOL_CALLS]' + tool_call.function.name + '[ARGS]' }}")).isEqualTo(ToolCallFormat.MISTRAL_NAMED);
    }

    @Test
    void detectsHarmonyFromChannelsAndFunctionRecipients() {
        assertThat(ToolCallFormat.detect("{% if tools %}{{ '<|start|>assistant to=functions.' + name + '<|channel|>commentary' }}{% endif %}"))
                .isEqualTo(ToolCallFormat.HARMONY);
    }

    @Test
    void fallsBackToGenericWithoutToolSupportOrKnownMarkers() {
        assertThat(ToolCallFormat.detect("{% for m in messages %}<tool_call> is only text here{% endfor %}"))
                .as("markers but no tools variable").isEqualTo(ToolCallFormat.GENERIC);
        assertThat(ToolCallFormat.detect("{{ 'You have tools' }}{% for m in messages %}{% endfor %}"))
                .as("'tools' only inside a string").isEqualTo(ToolCallFormat.GENERIC);
        assertThat(ToolCallFormat.detect("{% if tools %}{{ tools | tojson }}{% endif %}")).isEqualTo(ToolCallFormat.GENERIC);
    }

    @Test
    void detectsThePublishedTemplatesOfEachFamily() {
        assertThat(ToolCallFormat.detect(fixture("Qwen-Qwen2.5-7B-Instruct.jinja"))).isEqualTo(ToolCallFormat.HERMES);
        assertThat(ToolCallFormat.detect(fixture("Qwen-Qwen3-0.6B.jinja"))).isEqualTo(ToolCallFormat.HERMES);
        assertThat(ToolCallFormat.detect(fixture("meta-llama-Llama-3.1-8B-Instruct.jinja"))).isEqualTo(ToolCallFormat.LLAMA3);
        assertThat(ToolCallFormat.detect(fixture("meta-llama-Llama-3.2-3B-Instruct.jinja"))).isEqualTo(ToolCallFormat.LLAMA3);
        assertThat(ToolCallFormat.detect(fixture("Mistral-Small-3.2-24B-Instruct-2506.jinja"))).isEqualTo(ToolCallFormat.MISTRAL_NAMED);
        assertThat(ToolCallFormat.detect(fixture("openai-gpt-oss-120b.jinja"))).isEqualTo(ToolCallFormat.HARMONY);
        assertThat(ToolCallFormat.detect(fixture("google-gemma-2-2b-it.jinja"))).isEqualTo(ToolCallFormat.GENERIC);
    }
}
