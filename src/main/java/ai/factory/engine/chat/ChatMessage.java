package ai.factory.engine.chat;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One turn of a conversation, as a chat template sees it.
 *
 * <p>Build messages through the static factories: they keep callers compiling when tool calls join this
 * record.
 *
 * @param role {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the text; the API layer flattens OpenAI content parts to text before this
 * @param name the participant name OpenAI lets a client attach, or null
 * @param toolCalls the tool calls of an assistant turn (empty otherwise)
 * @param toolCallId for a {@code tool} turn, the id of the call whose result it carries, or null
 */
public record ChatMessage(String role, String content, @Nullable String name, List<ToolCall> toolCalls,
                          @Nullable String toolCallId) {
    /** The roles a message may have. */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    public ChatMessage {
        requireNonNull(role, "role is null");
        requireNonNull(content, "content is null");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
        if (!ROLES.contains(role)) {
            throw FactoryException.invalidParam("messages",
                    "unknown message role '" + role + "'; use system, user, assistant or tool");
        }
        if (name != null && name.isBlank()) {
            throw FactoryException.invalidParam("messages", "a message 'name' must not be blank");
        }
    }

    public ChatMessage(String role, String content, @Nullable String name) {
        this(role, content, name, List.of(), null);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content, null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content, null);
    }

    public static ChatMessage tool(String content) {
        return new ChatMessage("tool", content, null);
    }

    /** An assistant turn that called tools, with any text it wrote beside the calls. */
    public static ChatMessage assistantCalls(String content, List<ToolCall> calls) {
        return new ChatMessage("assistant", content, null, calls, null);
    }

    /** A tool's result, answering the call {@code toolCallId}. */
    public static ChatMessage toolResult(String toolCallId, String content) {
        return new ChatMessage("tool", content, null, List.of(), requireNonNull(toolCallId, "toolCallId is null"));
    }

    public ChatMessage withName(String name) {
        return new ChatMessage(role, content, requireNonNull(name, "name is null"), toolCalls, toolCallId);
    }

    public ChatMessage withContent(String content) {
        return new ChatMessage(role, content, name, toolCalls, toolCallId);
    }

    /**
     * The message as the dict Hugging Face templates index ({@code message['role']}, {@code message.content}).
     * Absent fields are left out rather than set to None, because templates test them with {@code in} and
     * {@code is defined} (Llama 3.1 tells a call turn by {@code 'tool_calls' in message}). A fresh mutable map each
     * time, so one render cannot leak into the next.
     *
     * <p>An assistant turn with calls carries {@code tool_calls} as OpenAI sends them, with each call's
     * {@code arguments} as a map when they are a JSON object, since templates print them with {@code tojson} or
     * walk them with {@code items} (a string would print quoted). Its {@code content} stays a string, empty when
     * the model wrote only calls: Qwen and Mistral test it for truth, which "" and None both fail, but Qwen3 and
     * plain ChatML concatenate or search it ({@code '</think>' in content}), which fails on None.
     */
    Map<String, Object> toTemplateValue() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("role", role);
        value.put("content", content);
        if (name != null) {
            value.put("name", name);
        }
        if (!toolCalls.isEmpty()) {
            List<Object> calls = new ArrayList<>();
            for (ToolCall call : toolCalls) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.name());
                function.put("arguments", ToolJson.argumentsValue(call.arguments()));
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("id", call.id());
                entry.put("type", "function");
                entry.put("function", function);
                calls.add(entry);
            }
            value.put("tool_calls", calls);
        }
        if (toolCallId != null) {
            value.put("tool_call_id", toolCallId);
        }
        return value;
    }
}
