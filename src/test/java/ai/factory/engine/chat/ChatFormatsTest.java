package ai.factory.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatFormatsTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-14T09:26:53Z"), ZoneOffset.UTC);
    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant"),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"));

    @Test
    void givesChatMlToAModelWithoutATemplate() {
        String expected = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n";

        assertThat(ChatFormats.forModel(null, CLOCK).render(CONVERSATION, true, "", "")).isEqualTo(expected);
        assertThat(ChatFormats.forModel("  ", CLOCK).render(CONVERSATION, true, "", "")).isEqualTo(expected);
    }

    @Test
    void usesTheModelsOwnTemplateWhenItCompiles() {
        ChatTemplate own = ChatFormats.forModel("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}", CLOCK);

        assertThat(own.render(CONVERSATION.subList(1, 2), true, "", "")).isEqualTo("[user] Hello\n");
    }

    @Test
    void fallsBackToTheFamilyItsSpecialTokensNameWhenTheTemplateDoesNotCompile() {
        ChatTemplate fallback = ChatFormats.forModel("{% if %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>", CLOCK);

        assertThat(fallback.render(CONVERSATION.subList(0, 2), true, "<|begin_of_text|>", "<|eot_id|>"))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void detectsFamiliesBySpecialTokens() {
        assertThat(ChatFormats.detect("<|im_start|>system<|im_sep|>")).isEqualTo("phi4");
        assertThat(ChatFormats.detect("<|im_start|>user")).isEqualTo("chatml");
        assertThat(ChatFormats.detect("[SYSTEM_PROMPT] [INST]")).isEqualTo("mistral-v7");
        assertThat(ChatFormats.detect("[INST] <<SYS>>")).isEqualTo("llama2");
        assertThat(ChatFormats.detect("<start_of_turn>model")).isEqualTo("gemma");
        assertThat(ChatFormats.detect("<|user|>hi<|end|>")).isEqualTo("phi3");
        assertThat(ChatFormats.detect("### Instruction:")).isEqualTo("chatml");
    }

    @Test
    void rendersEveryBuiltInFormat() {
        assertThat(ChatFormats.names()).containsExactlyInAnyOrder("chatml", "llama2", "llama3", "mistral-v7", "gemma", "phi3", "phi4");
        assertThat(ChatFormats.byName("llama2", CLOCK).render(CONVERSATION, true, "<s>", "</s>"))
                .isEqualTo("<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are you [/INST]");
        assertThat(ChatFormats.byName("mistral-v7", CLOCK).render(CONVERSATION, true, "<s>", "</s>"))
                .isEqualTo("<s>[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST]");
        assertThat(ChatFormats.byName("gemma", CLOCK).render(CONVERSATION, true, "<bos>", "<eos>"))
                .isEqualTo("<bos><start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\n"
                        + "Hi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\n");
        assertThat(ChatFormats.byName("phi3", CLOCK).render(CONVERSATION, true, "", "<|endoftext|>"))
                .isEqualTo("<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
                        + "<|user|>\nWho are you<|end|>\n<|assistant|>\n");
        assertThat(ChatFormats.byName("phi4", CLOCK).render(CONVERSATION, true, "", ""))
                .isEqualTo("<|im_start|>system<|im_sep|>You are a helpful assistant<|im_end|><|im_start|>user<|im_sep|>Hello<|im_end|>"
                        + "<|im_start|>assistant<|im_sep|>Hi there<|im_end|><|im_start|>user<|im_sep|>Who are you<|im_end|>"
                        + "<|im_start|>assistant<|im_sep|>");
        assertThat(ChatFormats.byName("LLAMA3", CLOCK).render(CONVERSATION.subList(1, 2), false, "<|begin_of_text|>", ""))
                .isEqualTo("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>");
    }

    @Test
    void rejectsAnUnknownFormatName() {
        assertThatThrownBy(() -> ChatFormats.byName("alpaca", CLOCK))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND))
                .hasMessageContaining("chatml");
    }
}
