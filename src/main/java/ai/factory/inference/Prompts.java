package ai.factory.inference;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TextModelInfo;
import ai.factory.engine.chat.ChatFormats;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.engine.chat.ChatTemplate;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns a call's prompt into tokens: a conversation through the model's own chat template (the GGUF's
 * {@code tokenizer.chat_template}, or a built-in format when it has none or it can't be used), compiled once per
 * distinct template; raw text and token ids as they are.
 */
final class Prompts {
    private final Map<String, ChatTemplate> compiled = new ConcurrentHashMap<>();
    /** What templates read as now ({@code strftime_now}, {@code date_string}): the date in the clock's zone. */
    private final Clock clock;

    Prompts(Clock clock) {
        this.clock = requireNonNull(clock, "clock is null");
    }

    int[] tokens(TextEngine engine, InferenceCall call) {
        return tokens(engine, call, "prompt");
    }

    /**
     * The call's prompt as tokens; errors name it {@code where} in their text ({@code prompt[2]}, one of several
     * prompts), and {@code prompt} as their field.
     */
    int[] tokens(TextEngine engine, InferenceCall call, String where) {
        TextModelInfo info = engine.info();
        return switch (call.prompt()) {
            case InferenceCall.Prompt.Chat chat -> tokens(engine, render(engine, chat.messages(), call.tools()), true);
            case InferenceCall.Prompt.Text text -> {
                if (text.text().isEmpty()) {
                    throw FactoryException.invalidParam("prompt", "'" + where + "' is empty");
                }
                yield tokens(engine, text.text(), text.specialTokens());
            }
            case InferenceCall.Prompt.Tokens ids -> {
                int vocab = info.vocabularySize();
                for (int i = 0; i < ids.ids().length; i++) {
                    if (ids.ids()[i] < 0 || ids.ids()[i] >= vocab) {
                        throw FactoryException.invalidParam("prompt", where + "[" + i + "] must be a token id between 0 and "
                                + (vocab - 1));
                    }
                }
                yield ids.ids();
            }
        };
    }

    /** The template the model's chat is rendered with. */
    ChatTemplate template(TextEngine engine) {
        String source = engine.info().chatTemplate() == null ? "" : engine.info().chatTemplate();
        return compiled.computeIfAbsent(source, s -> ChatFormats.forModel(s.isEmpty() ? null : s, clock));
    }

    /**
     * The conversation as the model's template writes it. Tools are described whenever the call has them, even
     * when it asks for no call (as OpenAI does), so the model knows what the history's calls were.
     */
    private String render(TextEngine engine, List<ChatMessage> messages, InferenceCall.Tools tools) {
        TextModelInfo info = engine.info();
        return template(engine).render(messages, tools.specs(), true, info.bosText(), info.eosText());
    }

    /**
     * Tokens of prompt text. Text in the chat format (rendered templates, or written so) usually starts with the BOS
     * text already; adding BOS again would double it.
     */
    private static int[] tokens(TextEngine engine, String text, boolean specialTokens) {
        TextModelInfo info = engine.info();
        boolean addBos = info.addBos() && (!specialTokens || info.bosText().isEmpty() || !text.startsWith(info.bosText()));
        return engine.tokenize(text, addBos, specialTokens);
    }
}
