package ai.factory.engine.chat;

import ai.factory.engine.chat.PythonJson.Options;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tools in prompts: what a template's source says it supports, the {@code tools} value Hugging Face templates
 * take, and the generic format for templates that know nothing of tools.
 *
 * <p>The generic format is the Hermes format Qwen 2.5 uses (and many fine-tunes learned): the tools are listed as
 * JSON in the system message, the model answers with {@code <tool_call>} blocks ({@link ToolCallFormat#GENERIC}),
 * earlier calls appear in assistant turns as those same blocks, and tool results come back as user turns of
 * {@code <tool_response>} blocks, because templates without tool support reject or mangle the {@code tool} role.
 */
final class ToolPrompt {
    private static final Pattern TAG = Pattern.compile("\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);
    private static final Pattern TOOLS = Pattern.compile("\\btools\\b");
    private static final Pattern TOOL_CALLS = Pattern.compile("\\btool_calls\\b");
    private static final Pattern TOOL_ROLE = Pattern.compile("['\"]tool['\"]");
    private static final Pattern NINE_ALPHANUMERIC = Pattern.compile("[A-Za-z0-9]{9}");
    private static final Options COMPACT = Options.huggingFace(null);

    private ToolPrompt() {}

    /** Whether the template's code (not its text, nor a string in its code) uses a {@code tools} variable. */
    static boolean mentionsTools(String source) {
        return inCode(source, TOOLS, true);
    }

    /** Whether the template reads {@code tool_calls} from messages. */
    static boolean mentionsToolCalls(String source) {
        return inCode(source, TOOL_CALLS, true);
    }

    /** Whether the template compares a role with {@code 'tool'}. */
    static boolean handlesToolRole(String source) {
        return inCode(source, TOOL_ROLE, false);
    }

    private static boolean inCode(String source, Pattern pattern, boolean outsideStrings) {
        Matcher tag = TAG.matcher(source);
        while (tag.find()) {
            String code = outsideStrings ? withoutStrings(tag.group()) : tag.group();
            if (pattern.matcher(code).find()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Jinja code with its string literals emptied. A scan rather than a regular expression, which would recurse
     * once per character of the long strings templates hold (Mistral's default system prompt) and overflow.
     */
    static String withoutStrings(String code) {
        StringBuilder out = new StringBuilder(code.length());
        char quote = 0;
        for (int i = 0; i < code.length(); i++) {
            char c = code.charAt(i);
            if (quote == 0) {
                out.append(c);
                if (c == '\'' || c == '"') {
                    quote = c;
                }
            } else if (c == '\\') {
                i++;
            } else if (c == quote) {
                out.append(c);
                quote = 0;
            }
        }
        return out.toString();
    }

    /** The {@code tools} template variable: OpenAI's shape, which Hugging Face templates are written against. */
    static List<Object> templateValue(List<ToolSpec> tools) {
        List<Object> value = new ArrayList<>();
        for (ToolSpec tool : tools) {
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", tool.name());
            function.put("description", tool.description());
            function.put("parameters", ToolJson.plain(tool.parameters()));
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("type", "function");
            entry.put("function", function);
            value.add(entry);
        }
        return value;
    }

    /** The system text that describes {@code tools} in the generic format. */
    static String systemText(List<ToolSpec> tools) {
        StringBuilder text = new StringBuilder("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
        for (Object tool : templateValue(tools)) {
            text.append('\n').append(PythonJson.dumps(tool, COMPACT));
        }
        return text.append("\n</tools>\n\nFor each function call, return a json object with function name and arguments"
                + " within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\":"
                + " <args-json-object>}\n</tool_call>").toString();
    }

    /**
     * The conversation in the generic format: the tools described in the (leading) system message, calls written
     * into assistant text, tool results turned into user turns.
     */
    static List<ChatMessage> generic(List<ChatMessage> messages, List<ToolSpec> tools) {
        List<ChatMessage> turns = new ArrayList<>(withToolResultsAsUser(withCallsAsText(messages)));
        if (!tools.isEmpty()) {
            String system = systemText(tools);
            if (!turns.isEmpty() && turns.getFirst().role().equals("system")) {
                ChatMessage first = turns.getFirst();
                turns.set(0, first.withContent(first.content().isBlank() ? system : first.content() + "\n\n" + system));
            } else {
                turns.addFirst(ChatMessage.system(system));
            }
        }
        return turns;
    }

    /** Assistant turns with calls as plain assistant turns whose text ends with the calls in the generic syntax. */
    static List<ChatMessage> withCallsAsText(List<ChatMessage> messages) {
        List<ChatMessage> turns = new ArrayList<>();
        for (ChatMessage message : messages) {
            if (message.toolCalls().isEmpty()) {
                turns.add(message);
                continue;
            }
            StringBuilder text = new StringBuilder(message.content().strip());
            for (ToolCall call : message.toolCalls()) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("name", call.name());
                json.put("arguments", ToolJson.argumentsValue(call.arguments()));
                text.append(text.isEmpty() ? "" : "\n").append(HermesToolCalls.OPEN).append('\n')
                        .append(PythonJson.dumps(json, COMPACT)).append('\n').append(HermesToolCalls.CLOSE);
            }
            ChatMessage plain = new ChatMessage("assistant", text.toString(), message.name());
            turns.add(plain);
        }
        return turns;
    }

    /**
     * Call ids as Mistral templates demand them, 9 letters and digits (they raise on any other), for conversations
     * whose ids came from elsewhere (OpenAI's {@code call_...}, another model). Each id maps to the same
     * replacement in calls and results, by a hash, so the pairing survives.
     */
    static List<ChatMessage> withNineCharacterIds(List<ChatMessage> messages) {
        List<ChatMessage> turns = new ArrayList<>();
        for (ChatMessage message : messages) {
            List<ToolCall> calls = message.toolCalls().stream()
                    .map(call -> new ToolCall(nineCharacterId(call.id()), call.name(), call.arguments()))
                    .toList();
            String callId = message.toolCallId() == null ? null : nineCharacterId(message.toolCallId());
            turns.add(new ChatMessage(message.role(), message.content(), message.name(), calls, callId));
        }
        return turns;
    }

    static String nineCharacterId(String id) {
        if (NINE_ALPHANUMERIC.matcher(id).matches()) {
            return id;
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return ToolCallIds.alphanumeric(new SplittableRandom(ByteBuffer.wrap(hash).getLong()), 9);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    /**
     * Tool turns as user turns of {@code <tool_response>} blocks. Consecutive results share one user turn, and a
     * user message right after them joins it, so templates that insist on alternating roles accept the result.
     */
    static List<ChatMessage> withToolResultsAsUser(List<ChatMessage> messages) {
        List<ChatMessage> turns = new ArrayList<>();
        boolean lastWasResult = false;
        for (ChatMessage message : messages) {
            boolean result = message.role().equals("tool");
            if (!result && !(lastWasResult && message.role().equals("user"))) {
                turns.add(message);
                lastWasResult = false;
                continue;
            }
            String text = result ? "<tool_response>\n" + message.content() + "\n</tool_response>" : message.content();
            if (lastWasResult) {
                ChatMessage previous = turns.getLast();
                turns.set(turns.size() - 1, previous.withContent(previous.content() + "\n" + text));
            } else {
                turns.add(ChatMessage.user(text));
            }
            lastWasResult = result;
        }
        return turns;
    }
}
