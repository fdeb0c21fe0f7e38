package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;
import ai.factory.api.codec.ServiceTiers;
import ai.factory.Json;
import ai.factory.api.codec.ApiFields;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.engine.chat.ToolCall;
import ai.factory.engine.chat.ToolChoice;
import ai.factory.engine.chat.ToolSpec;
import ai.factory.inference.Completion;
import ai.factory.inference.InferenceCall;
import ai.factory.inference.InferenceEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Bedrock Converse and ConverseStream as the factory's calls: messages of text, {@code toolUse} and
 * {@code toolResult} blocks, {@code system} blocks, {@code inferenceConfig}, {@code toolConfig}, and the sampling
 * fields this factory understands in {@code additionalModelRequestFields}. Guardrails and non-text content are
 * refused with a message.
 */
public final class ConverseCodec {
    /** The {@code additionalModelRequestFields} passed on to sampling, named as llama.cpp and vLLM name them. */
    static final Set<String> ADDITIONAL_FIELDS = Set.of("top_k", "min_p", "repetition_penalty", "presence_penalty",
            "frequency_penalty", "seed", "ignore_eos");

    /** The factory's field names in Converse's words. */
    public static final ApiFields FIELDS = new ApiFields(Map.ofEntries(
            Map.entry("temperature", "inferenceConfig.temperature"),
            Map.entry("top_p", "inferenceConfig.topP"),
            Map.entry("max_tokens", "inferenceConfig.maxTokens"),
            Map.entry("stop", "inferenceConfig.stopSequences"),
            Map.entry("top_k", "additionalModelRequestFields.top_k"),
            Map.entry("min_p", "additionalModelRequestFields.min_p"),
            Map.entry("repetition_penalty", "additionalModelRequestFields.repetition_penalty"),
            Map.entry("presence_penalty", "additionalModelRequestFields.presence_penalty"),
            Map.entry("frequency_penalty", "additionalModelRequestFields.frequency_penalty"),
            Map.entry("ignore_eos", "additionalModelRequestFields.ignore_eos"),
            Map.entry("tools", "toolConfig.tools"),
            Map.entry("tool_choice", "toolConfig.toolChoice"),
            Map.entry("prompt", "messages")));

    private ConverseCodec() {}

    public static InferenceCall decode(String model, ConverseRequest r) {
        return FIELDS.apply(() -> call(model, r));
    }

    private static InferenceCall call(String model, ConverseRequest r) {
        if (r.guardrailConfig() != null && !r.guardrailConfig().isNull()) {
            throw FactoryException.invalidParam("guardrailConfig", "'guardrailConfig' is not supported yet");
        }
        List<ChatMessage> messages = new ArrayList<>();
        if (r.system() != null) {
            StringBuilder system = new StringBuilder();
            for (int i = 0; i < r.system().size(); i++) {
                ConverseRequest.SystemBlock block = r.system().get(i);
                if (block != null && block.cachePoint() != null) {
                    continue;
                }
                if (block == null || block.text() == null) {
                    throw FactoryException.invalidParam("system", "system[" + i + "] is not a text block; "
                            + "only text content blocks are supported");
                }
                if (!system.isEmpty()) {
                    system.append('\n');
                }
                system.append(block.text());
            }
            if (!system.isEmpty()) {
                messages.add(ChatMessage.system(system.toString()));
            }
        }
        if (r.messages() == null || r.messages().isEmpty()) {
            throw FactoryException.invalidParam("messages", "'messages' must be a non-empty array of {role, content}");
        }
        for (int i = 0; i < r.messages().size(); i++) {
            ConverseRequest.Message m = r.messages().get(i);
            // Bedrock's own rules for a conversation, in its own words.
            if (i == 0 && m != null && !"user".equals(m.role())) {
                throw FactoryException.invalidParam("messages", "A conversation must start with a user message. Try "
                        + "again with a conversation that starts with a user message.");
            }
            if (i > 0 && m != null && r.messages().get(i - 1) != null && m.role() != null
                    && m.role().equals(r.messages().get(i - 1).role())) {
                throw FactoryException.invalidParam("messages", "A conversation must alternate between user and "
                        + "assistant roles (messages[" + (i - 1) + "] and messages[" + i + "] are both '" + m.role()
                        + "'). Make sure the conversation alternates between user and assistant roles and try again.");
            }
            messages.addAll(turn(m, "messages[" + i + "]"));
        }
        ConverseRequest.InferenceConfig config = r.inferenceConfig() == null
                ? new ConverseRequest.InferenceConfig(null, null, null, null) : r.inferenceConfig();
        if (config.maxTokens() != null && config.maxTokens() < 1) {
            throw FactoryException.invalidParam("inferenceConfig.maxTokens", "inferenceConfig.maxTokens must be at least 1");
        }
        List<String> stop = config.stopSequences() == null ? List.of() : config.stopSequences();
        if (stop.stream().anyMatch(java.util.Objects::isNull)) {
            throw FactoryException.invalidParam("inferenceConfig.stopSequences",
                    "every inferenceConfig.stopSequences entry must be a string");
        }
        JsonNode extra = r.additionalModelRequestFields() == null || r.additionalModelRequestFields().isNull()
                ? JsonNodeFactory.instance.objectNode() : r.additionalModelRequestFields();
        if (!extra.isObject()) {
            throw FactoryException.invalidParam("additionalModelRequestFields", "'additionalModelRequestFields' must be an object");
        }
        extra.fieldNames().forEachRemaining(name -> {
            if (!ADDITIONAL_FIELDS.contains(name)) {
                throw FactoryException.invalidParam("additionalModelRequestFields", "additionalModelRequestFields."
                        + name + " is not understood; these are: " + String.join(", ", new TreeSet<>(ADDITIONAL_FIELDS)));
            }
        });
        SamplingParams sampling = new SamplingParams(
                config.temperature() == null ? 1f : config.temperature().floatValue(),
                config.topP() == null ? 1f : config.topP().floatValue(),
                integer(extra, "top_k", 0),
                number(extra, "min_p", 0),
                number(extra, "repetition_penalty", 1),
                number(extra, "presence_penalty", 0),
                number(extra, "frequency_penalty", 0),
                64,
                extra.hasNonNull("seed") ? seed(extra.get("seed")) : null);
        return new InferenceCall(model, new InferenceCall.Prompt.Chat(messages), tools(r.toolConfig()),
                InferenceCall.OutputFormat.TEXT, sampling, config.maxTokens() == null ? 0 : config.maxTokens(), stop,
                bool(extra, "ignore_eos"), false, 0, Map.of())
                .withPriority(ServiceTiers.priority(r.serviceTier() == null ? null : r.serviceTier().type(),
                        "serviceTier.type"));
    }

    /** One Converse message: its text, tool calls (assistant) and tool results (user) as the factory's turns. */
    private static List<ChatMessage> turn(ConverseRequest.Message m, String where) {
        if (m == null || (!"user".equals(m.role()) && !"assistant".equals(m.role()))) {
            throw FactoryException.invalidParam("messages", where + ".role must be 'user' or 'assistant'");
        }
        if (m.content() == null) {
            throw FactoryException.invalidParam("messages", where + ".content must be an array of content blocks");
        }
        StringBuilder text = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        List<ChatMessage> results = new ArrayList<>();
        for (int i = 0; i < m.content().size(); i++) {
            ConverseRequest.ContentBlock block = m.content().get(i);
            String at = where + ".content[" + i + "]";
            if (block == null) {
                throw FactoryException.invalidParam("messages", at + " must be a content block");
            }
            if (block.cachePoint() != null) {
                continue;
            }
            if (block.text() != null) {
                text.append(block.text());
            } else if (block.toolUse() != null && "assistant".equals(m.role())) {
                calls.add(toolUse(block.toolUse(), at));
            } else if (block.toolResult() != null && "user".equals(m.role())) {
                results.add(toolResult(block.toolResult(), at));
            } else {
                throw FactoryException.invalidParam("messages", at + " is a '" + kind(block)
                        + "' block; only text content blocks, toolUse (assistant) and toolResult (user) are supported");
            }
        }
        List<ChatMessage> out = new ArrayList<>(results);
        if ("assistant".equals(m.role())) {
            out.add(calls.isEmpty() ? ChatMessage.assistant(text.toString())
                    : ChatMessage.assistantCalls(text.toString(), calls));
        } else if (!text.isEmpty() || results.isEmpty()) {
            out.add(ChatMessage.user(text.toString()));
        }
        return out;
    }

    private static ToolCall toolUse(ConverseRequest.ToolUse use, String at) {
        if (use.toolUseId() == null || use.name() == null) {
            throw FactoryException.invalidParam("messages", at + ".toolUse needs a toolUseId and a name");
        }
        JsonNode input = use.input() == null || use.input().isNull() ? JsonNodeFactory.instance.objectNode() : use.input();
        return new ToolCall(use.toolUseId(), use.name(), json(input));
    }

    private static ChatMessage toolResult(ConverseRequest.ToolResult result, String at) {
        if (result.toolUseId() == null) {
            throw FactoryException.invalidParam("messages", at + ".toolResult needs a toolUseId");
        }
        StringBuilder text = new StringBuilder();
        for (ConverseRequest.ToolResultContent c : result.content() == null ? List.<ConverseRequest.ToolResultContent>of()
                : result.content()) {
            if (c != null && c.text() != null) {
                text.append(c.text());
            } else if (c != null && c.json() != null) {
                text.append(json(c.json()));
            } else {
                throw FactoryException.invalidParam("messages", at + ".toolResult.content holds a block that is "
                        + "neither text nor json; only those are supported");
            }
        }
        if ("error".equals(result.status())) {
            text.insert(0, "Error: ");
        }
        return ChatMessage.toolResult(result.toolUseId(), text.toString());
    }

    private static InferenceCall.Tools tools(ConverseRequest.ToolConfig config) {
        if (config == null) {
            return InferenceCall.Tools.NONE;
        }
        if (config.tools() == null || config.tools().isEmpty()) {
            throw FactoryException.invalidParam("toolConfig.tools", "toolConfig.tools must hold at least one tool");
        }
        List<ToolSpec> specs = new ArrayList<>();
        for (int i = 0; i < config.tools().size(); i++) {
            ConverseRequest.Tool tool = config.tools().get(i);
            if (tool != null && tool.cachePoint() != null) {
                continue;
            }
            String at = "toolConfig.tools[" + i + "]";
            if (tool == null || tool.toolSpec() == null || tool.toolSpec().name() == null) {
                throw FactoryException.invalidParam("toolConfig.tools", at + " must be {\"toolSpec\": {\"name\", …}}");
            }
            ConverseRequest.ToolSpec spec = tool.toolSpec();
            JsonNode schema = spec.inputSchema() == null ? null : spec.inputSchema().json();
            if (schema != null && !schema.isNull() && !schema.isObject()) {
                throw FactoryException.invalidParam("toolConfig.tools", at + ".toolSpec.inputSchema.json must be a JSON Schema object");
            }
            specs.add(new ToolSpec(spec.name(), spec.description(), schema == null ? NullNode.getInstance() : schema));
        }
        ToolChoice choice = toolChoice(config.toolChoice());
        // Bedrock has no parallel_tool_calls: a forced choice (any, tool) asks for the call it needs, one; auto lets
        // the model call several tools in one reply.
        return new InferenceCall.Tools(specs, choice, choice instanceof ToolChoice.Auto);
    }

    private static ToolChoice toolChoice(JsonNode choice) {
        if (choice == null || choice.isNull() || choice.has("auto")) {
            return ToolChoice.AUTO;
        }
        if (choice.has("any")) {
            return ToolChoice.REQUIRED;
        }
        if (choice.path("tool").path("name").isTextual()) {
            return new ToolChoice.Named(choice.path("tool").path("name").asText());
        }
        throw FactoryException.invalidParam("toolConfig.toolChoice",
                "toolConfig.toolChoice must be {\"auto\": {}}, {\"any\": {}} or {\"tool\": {\"name\": …}}");
    }

    private static String kind(ConverseRequest.ContentBlock block) {
        if (block.image() != null) {
            return "image";
        }
        if (block.document() != null) {
            return "document";
        }
        if (block.video() != null) {
            return "video";
        }
        if (block.reasoningContent() != null) {
            return "reasoningContent";
        }
        if (block.guardContent() != null) {
            return "guardContent";
        }
        if (block.toolUse() != null) {
            return "toolUse";
        }
        if (block.toolResult() != null) {
            return "toolResult";
        }
        return block.citationsContent() != null ? "citationsContent" : "?";
    }

    private static int integer(JsonNode extra, String field, int defaultValue) {
        JsonNode v = extra.get(field);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be an integer");
        }
        return v.intValue();
    }

    private static boolean bool(JsonNode extra, String field) {
        JsonNode v = extra.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be true or false");
        }
        return v.booleanValue();
    }

    private static float number(JsonNode extra, String field, double defaultValue) {
        JsonNode v = extra.get(field);
        if (v == null || v.isNull()) {
            return (float) defaultValue;
        }
        if (!v.isNumber()) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be a number");
        }
        return v.floatValue();
    }

    private static Long seed(JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw FactoryException.invalidParam("seed", "additionalModelRequestFields.seed must be an integer");
        }
        return v.asLong();
    }

    static String json(JsonNode node) {
        try {
            return Json.mapper().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    /** A tool call's arguments as the JSON object Converse carries in {@code toolUse.input}. */
    private static JsonNode input(String arguments) {
        try {
            JsonNode node = Json.mapper().readTree(arguments);
            return node != null && node.isObject() ? node : JsonNodeFactory.instance.objectNode();
        } catch (JsonProcessingException e) {
            return JsonNodeFactory.instance.objectNode();
        }
    }

    public static ConverseResponse response(Completion c, long latencyMs) {
        List<ConverseResponse.ContentBlock> content = new ArrayList<>();
        if (!c.text().isEmpty() || c.toolCalls().isEmpty()) {
            content.add(new ConverseResponse.ContentBlock(c.text(), null));
        }
        for (ToolCall call : c.toolCalls()) {
            content.add(new ConverseResponse.ContentBlock(null,
                    new ConverseResponse.ToolUse(call.id(), call.name(), input(call.arguments()))));
        }
        return new ConverseResponse(new ConverseResponse.Output(new ConverseResponse.Message("assistant", content)),
                stopReason(c.end().reason()), usage(c.end()), new ConverseResponse.Metrics(latencyMs));
    }

    static String stopReason(InferenceEvent.Finish finish) {
        return switch (finish) {
            case STOP, CANCELLED -> "end_turn";
            case STOP_SEQUENCE -> "stop_sequence";
            case LENGTH -> "max_tokens";
            case TOOL_CALLS -> "tool_use";
        };
    }

    static ConverseResponse.Usage usage(InferenceEvent.End end) {
        int cached = end.cachedPromptTokens();
        return new ConverseResponse.Usage(end.promptTokens() - cached, end.completionTokens(),
                end.promptTokens() + end.completionTokens(), cached > 0 ? cached : null);
    }

    /**
     * Writes a streamed answer as ConverseStream's events: {@code messageStart}, the text block's deltas (block 0),
     * each tool call as a block of its own ({@code contentBlockStart} with its id and name, then its input JSON in
     * {@code contentBlockDelta}s), {@code contentBlockStop}s, {@code messageStop}, {@code metadata}.
     */
    public static final class Stream implements Consumer<InferenceEvent> {
        private final BiConsumer<String, Object> out;
        private final LongSupplier latencyMs;
        private int block = -1;

        /** @param out takes an event's type and payload */
        public Stream(BiConsumer<String, Object> out, LongSupplier latencyMs) {
            this.out = out;
            this.latencyMs = latencyMs;
        }

        public void start() {
            out.accept("messageStart", new ConverseResponse.MessageStart("assistant"));
        }

        @Override
        public void accept(InferenceEvent event) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    if (!t.text().isEmpty()) {
                        block = 0;
                        out.accept("contentBlockDelta", new ConverseResponse.ContentBlockDelta(
                                new ConverseResponse.Delta(t.text(), null), 0));
                    }
                }
                case InferenceEvent.ToolCallDelta d -> {
                    if (d.first()) {
                        if (block >= 0) {
                            out.accept("contentBlockStop", new ConverseResponse.ContentBlockStop(block));
                        }
                        block++;
                        out.accept("contentBlockStart", new ConverseResponse.ContentBlockStart(new ConverseResponse.Start(
                                new ConverseResponse.ToolUseStart(Objects.requireNonNull(d.id()),
                                        Objects.requireNonNull(d.name()))),
                                block));
                    }
                    if (!d.arguments().isEmpty()) {
                        out.accept("contentBlockDelta", new ConverseResponse.ContentBlockDelta(
                                new ConverseResponse.Delta(null, new ConverseResponse.ToolUseDelta(d.arguments())), block));
                    }
                }
                case InferenceEvent.End end -> {
                    out.accept("contentBlockStop", new ConverseResponse.ContentBlockStop(Math.max(block, 0)));
                    out.accept("messageStop", new ConverseResponse.MessageStop(stopReason(end.reason())));
                    out.accept("metadata", new ConverseResponse.Metadata(usage(end),
                            new ConverseResponse.Metrics(latencyMs.getAsLong())));
                }
            }
        }
    }
}
