package ai.factory.serving;

import ai.factory.engine.TextEngine;
import ai.factory.engine.TextModelInfo;
import ai.factory.engine.chat.ChatFormats;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.engine.chat.ChatTemplate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns a conversation into prompt tokens with the model's own chat template (the GGUF's
 * {@code tokenizer.chat_template}, or a built-in format when it has none or it can't be used), compiled once per
 * distinct template.
 */
public final class ChatPrompts {
    private final Map<String, ChatTemplate> compiled = new ConcurrentHashMap<>();

    public int[] tokens(TextEngine engine, List<ChatMessage> messages) {
        TextModelInfo info = engine.info();
        String source = info.chatTemplate() == null ? "" : info.chatTemplate();
        ChatTemplate template = compiled.computeIfAbsent(source, s -> ChatFormats.forModel(s.isEmpty() ? null : s));
        String prompt = template.render(messages, true, info.bosText(), info.eosText());
        // Most templates write the BOS text themselves; adding BOS again would double it.
        boolean addBos = info.addBos() && (info.bosText().isEmpty() || !prompt.startsWith(info.bosText()));
        return engine.tokenize(prompt, addBos, true);
    }
}
