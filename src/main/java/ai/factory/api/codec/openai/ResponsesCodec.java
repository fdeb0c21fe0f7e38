package ai.factory.api.codec.openai;

import static java.util.Objects.requireNonNull;

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
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * OpenAI's Responses API as the factory's calls: {@code input} (a string or items), {@code instructions}, function
 * tools, {@code text.format}, sampling and {@code max_output_tokens}; answered as a {@code response} object or, streamed,
 * as its typed events. A conversation is kept (and {@code previous_response_id} can continue it) where the caller's
 * project keeps the text of its calls; the resource decides that, this codec only reads and writes the documents.
 */
public final class ResponsesCodec {
    /** The factory's field names in the Responses API's words, for errors the pipeline raises. */
    public static final ApiFields FIELDS = new ApiFields(Map.of("schema", "text.format.schema", "prompt", "input",
            "max_tokens", "max_output_tokens"));

    private ResponsesCodec() {}

    /**
     * A decoded request, with what the answer echoes back.
     *
     * @param items the conversation as input items: a stored conversation it continues, then this request's input
     */
    public record Decoded(InferenceCall call, ResponseRequest request, boolean stream, ArrayNode items) {}

    /**
     * Reads a request.
     *
     * @param history the input items of the conversation {@code previous_response_id} names (see
     *     {@link #conversation}), empty for none
     */
    public static Decoded decode(ResponseRequest r, List<JsonNode> history) {
        String model = Fields.requiredString(r.model(), "model");
        ArrayNode items = JsonNodeFactory.instance.arrayNode();
        history.forEach(items::add);
        JsonNode input = r.input();
        if (input != null && input.isTextual()) {
            items.addObject().put("role", "user").put("content", input.asText());
        } else if (input != null && input.isArray()) {
            input.forEach(items::add);
        } else {
            input(input);
        }
        List<ChatMessage> messages = new ArrayList<>();
        if (r.instructions() != null && !r.instructions().isEmpty()) {
            messages.add(ChatMessage.system(r.instructions()));
        }
        messages.addAll(input(items));
        InferenceCall.Tools tools = tools(r.tools(), r.toolChoice(), r.parallelToolCalls());
        InferenceCall.OutputFormat format = format(r.text());
        if (tools.active() && !(format instanceof InferenceCall.OutputFormat.Text)) {
            throw FactoryException.invalidParam("text.format",
                    "a JSON text.format cannot be combined with tool calls yet; send tool_choice 'none' or no text.format");
        }
        SamplingParams sampling = Fields.sampling(r.temperature(), r.topP(), null, null, null, null, null, null);
        int maxTokens = Fields.maxTokens(r.maxOutputTokens(), "max_output_tokens", 0);
        InferenceCall call = new InferenceCall(model, new InferenceCall.Prompt.Chat(messages), tools, format, sampling,
                maxTokens, List.of(), false, false, 0, Map.of())
                .withPriority(ServiceTiers.priority(r.serviceTier(), "service_tier"));
        return new Decoded(call, r, Boolean.TRUE.equals(r.stream()), items);
    }

    /** What is kept of an answered call: its conversation's input items and the response. */
    public record Stored(List<JsonNode> input, ResponseObject response) {
        public Stored {
            input = List.copyOf(input);
        }
    }

    /** The document a kept conversation is stored as. */
    public static byte[] stored(Decoded d, ResponseObject response) {
        try {
            List<JsonNode> input = new ArrayList<>();
            d.items().forEach(input::add);
            return Json.mapper().writeValueAsBytes(new Stored(input, response));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a response always serialises", e);
        }
    }

    /** A kept conversation as read back. */
    public static Stored read(byte[] document) {
        try {
            return Json.mapper().readValue(document, Stored.class);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a kept conversation does not read back", e);
        }
    }

    /** The items a continuation starts from: the kept input, then the answer's output as input items. */
    public static List<JsonNode> conversation(Stored stored) {
        List<JsonNode> items = new ArrayList<>(stored.input());
        for (ResponseObject.OutputItem item : stored.response().output()) {
            ObjectNode node = JsonNodeFactory.instance.objectNode().put("type", item.type());
            if ("message".equals(item.type())) {
                node.put("role", "assistant");
                ArrayNode parts = node.putArray("content");
                requireNonNull(item.content(), "a message item has content")
                        .forEach(p -> parts.addObject().put("type", "output_text").put("text", p.text()));
            } else {
                node.put("call_id", item.callId()).put("name", item.name()).put("arguments", item.arguments());
            }
            items.add(node);
        }
        return items;
    }

    /** {@code input}: a string (one user message) or a list of message, function_call and function_call_output items. */
    private static List<ChatMessage> input(JsonNode input) {
        if (input == null || input.isNull()) {
            throw FactoryException.invalidParam("input", "'input' is required: a string or a list of items");
        }
        if (input.isTextual()) {
            return List.of(ChatMessage.user(input.asText()));
        }
        if (!input.isArray() || input.isEmpty()) {
            throw FactoryException.invalidParam("input", "'input' must be a string or a non-empty list of items");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String where = "input[" + i + "]";
            if (!item.isObject()) {
                throw FactoryException.invalidParam(where, where + " must be an object");
            }
            String type = item.path("type").asText(item.has("role") ? "message" : "");
            switch (type) {
                case "message" -> out.add(message(item, where));
                case "function_call" -> {
                    String callId = text(item, "call_id", where);
                    ToolCall call = new ToolCall(callId, text(item, "name", where), text(item, "arguments", where));
                    ChatMessage last = out.isEmpty() ? null : out.getLast();
                    if (last != null && last.role().equals("assistant")) {
                        List<ToolCall> calls = new ArrayList<>(last.toolCalls());
                        calls.add(call);
                        out.set(out.size() - 1, ChatMessage.assistantCalls(last.content(), calls));
                    } else {
                        out.add(ChatMessage.assistantCalls("", List.of(call)));
                    }
                }
                case "function_call_output" -> out.add(ChatMessage.toolResult(text(item, "call_id", where),
                        item.path("output").isTextual() ? item.path("output").asText() : item.path("output").toString()));
                case "reasoning" -> { }
                default -> throw FactoryException.invalidParam(where + ".type", where + ".type '" + type
                        + "' is not supported; items are messages, function_call and function_call_output");
            }
        }
        if (out.isEmpty()) {
            throw FactoryException.invalidParam("input", "'input' holds no message");
        }
        return out;
    }

    private static ChatMessage message(JsonNode item, String where) {
        String role = item.path("role").asText("");
        if (!List.of("user", "assistant", "system", "developer").contains(role)) {
            throw FactoryException.invalidParam(where + ".role", where + ".role must be user, assistant, system or developer");
        }
        JsonNode content = item.get("content");
        String text;
        if (content != null && content.isTextual()) {
            text = content.asText();
        } else if (content != null && content.isArray()) {
            StringBuilder joined = new StringBuilder();
            for (JsonNode part : content) {
                String type = part.path("type").asText("");
                if (!List.of("input_text", "output_text", "text").contains(type) || !part.path("text").isTextual()) {
                    throw FactoryException.invalidParam(where + ".content", where + " has a content part of type '"
                            + type + "'; only text parts are supported");
                }
                joined.append(part.path("text").asText());
            }
            text = joined.toString();
        } else {
            throw FactoryException.invalidParam(where + ".content", where + ".content must be a string or a list of parts");
        }
        return role.equals("developer") ? ChatMessage.system(text) : new ChatMessage(role, text, null);
    }

    private static String text(JsonNode item, String field, String where) {
        JsonNode v = item.get(field);
        if (v == null || !v.isTextual()) {
            throw FactoryException.invalidParam(where + "." + field, where + "." + field + " is required: a string");
        }
        return v.asText();
    }

    private static InferenceCall.Tools tools(List<ResponseRequest.Tool> tools, JsonNode choice, Boolean parallel) {
        List<ToolSpec> specs = new ArrayList<>();
        if (tools != null) {
            for (int i = 0; i < tools.size(); i++) {
                ResponseRequest.Tool t = tools.get(i);
                String where = "tools[" + i + "]";
                if (t == null || !"function".equals(t.type())) {
                    throw FactoryException.invalidParam(where + ".type", where + ".type '" + (t == null ? null : t.type())
                            + "' is not available here; only function tools are");
                }
                if (t.name() == null) {
                    throw FactoryException.invalidParam(where + ".name", where + ".name is required");
                }
                specs.add(new ToolSpec(t.name(), t.description(), t.parameters()));
            }
        }
        ToolChoice toolChoice;
        if (choice == null || choice.isNull()) {
            toolChoice = specs.isEmpty() ? ToolChoice.NONE : ToolChoice.AUTO;
        } else if (choice.isTextual() && List.of("none", "auto", "required").contains(choice.asText())) {
            toolChoice = switch (choice.asText()) {
                case "none" -> ToolChoice.NONE;
                case "required" -> ToolChoice.REQUIRED;
                default -> ToolChoice.AUTO;
            };
        } else if (choice.isObject() && "function".equals(choice.path("type").asText()) && choice.path("name").isTextual()) {
            toolChoice = new ToolChoice.Named(choice.path("name").asText());
        } else {
            throw FactoryException.invalidParam("tool_choice",
                    "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"name\": …}");
        }
        return new InferenceCall.Tools(specs, toolChoice, parallel == null || parallel);
    }

    private static InferenceCall.OutputFormat format(ResponseRequest.TextConfig text) {
        if (text == null || text.format() == null) {
            return InferenceCall.OutputFormat.TEXT;
        }
        ResponseRequest.Format f = text.format();
        return switch (f.type() == null ? "" : f.type()) {
            case "text" -> InferenceCall.OutputFormat.TEXT;
            case "json_object" -> new InferenceCall.OutputFormat.JsonObject();
            case "json_schema" -> {
                if (f.name() == null || f.schema() == null || !f.schema().isObject()) {
                    throw FactoryException.invalidParam("text.format", "a json_schema 'text.format' needs a 'name' and a 'schema' object");
                }
                yield new InferenceCall.OutputFormat.JsonSchema(f.name(), f.schema());
            }
            default -> throw FactoryException.invalidParam("text.format.type",
                    "'text.format.type' must be 'text', 'json_object' or 'json_schema'");
        };
    }

    /** The numbers of a stream's events, from 0; the error event that may end a stream takes the next one too. */
    public static final class Sequence {
        private int next;

        int next() {
            return next++;
        }
    }

    /** The {@code error} event that ends a stream which failed after it began. */
    public static ResponseEvent.Error error(FactoryException e, Sequence sequence) {
        return new ResponseEvent.Error("error", sequence.next(), OpenAiErrors.code(e.code()), e.getMessage(),
                e.param());
    }

    /** A fresh id with the prefix OpenAI uses for the kind ({@code resp}, {@code msg}, {@code fc}). */
    public static String id(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "");
    }

    /** The answer to a request that was not streamed. */
    public static ResponseObject response(String id, long createdAt, Decoded d, Completion c, boolean store) {
        List<ResponseObject.OutputItem> output = new ArrayList<>();
        if (!c.text().isEmpty() || c.toolCalls().isEmpty()) {
            output.add(ResponseObject.OutputItem.message(id("msg"), "completed",
                    List.of(ResponseObject.ContentPart.text(c.text()))));
        }
        for (ToolCall call : c.toolCalls()) {
            output.add(ResponseObject.OutputItem.functionCall(id("fc"), "completed", call.id(), call.name(), call.arguments()));
        }
        return object(id, createdAt, d, status(c.end()), output, usage(c.end()), store);
    }

    private static String status(InferenceEvent.End end) {
        return end.reason() == InferenceEvent.Finish.LENGTH ? "incomplete" : "completed";
    }

    private static ResponseObject.Usage usage(InferenceEvent.End end) {
        return new ResponseObject.Usage(end.promptTokens(), new ResponseObject.InputTokensDetails(end.cachedPromptTokens()),
                end.completionTokens(), new ResponseObject.OutputTokensDetails(0), end.promptTokens() + end.completionTokens());
    }

    private static ResponseObject object(String id, long createdAt, Decoded d, String status,
                                         List<ResponseObject.OutputItem> output, ResponseObject.@Nullable Usage usage,
                                         boolean store) {
        ResponseRequest r = d.request();
        JsonNode toolChoice = r.toolChoice() != null ? r.toolChoice() : JsonNodeFactory.instance.textNode("auto");
        ResponseRequest.Format format = r.text() != null && r.text().format() != null ? r.text().format()
                : new ResponseRequest.Format("text", null, null, null, null);
        return new ResponseObject(id, "response", createdAt, status, null,
                status.equals("incomplete") ? new ResponseObject.IncompleteDetails("max_output_tokens") : null,
                r.instructions(), r.maxOutputTokens(), d.call().model(), output,
                r.parallelToolCalls() == null || r.parallelToolCalls(), r.previousResponseId(), store,
                r.temperature() == null ? 1.0 : r.temperature(), r.topP() == null ? 1.0 : r.topP(),
                new ResponseObject.Text(format), toolChoice, r.tools() == null ? List.of() : r.tools(), "disabled",
                usage, r.metadata() == null ? JsonNodeFactory.instance.objectNode() : r.metadata(), r.user());
    }

    /**
     * Writes a streamed answer as the Responses API's events: {@code response.created} and {@code .in_progress}; the
     * message item (opened at the first text) with its text deltas; each function call as an item with its argument
     * deltas; then {@code response.completed} (or {@code .incomplete} when the token limit cut it) with the whole
     * response.
     */
    public static final class Stream implements Consumer<InferenceEvent> {
        private final String id;
        private final long createdAt;
        private final Decoded request;
        private final Consumer<ResponseEvent> out;
        private final Sequence sequence;
        private final List<ResponseObject.OutputItem> done = new ArrayList<>();
        private final StringBuilder text = new StringBuilder();
        private @Nullable String messageId;
        /** The item id of the open function call ({@link #call}); empty before the first. */
        private String callItemId = "";
        private @Nullable ToolCall call;
        private final StringBuilder arguments = new StringBuilder();
        private final boolean store;
        private @Nullable ResponseObject finished;

        /** @param store whether the response is kept (the answers say so) */
        public Stream(String id, long createdAt, Decoded request, boolean store, Sequence sequence,
                      Consumer<ResponseEvent> out) {
            this.store = store;
            this.sequence = sequence;
            this.id = id;
            this.createdAt = createdAt;
            this.request = request;
            this.out = out;
        }

        private int nextSequence() {
            return sequence.next();
        }

        public void start() {
            ResponseObject inProgress = object(id, createdAt, request, "in_progress", List.of(), null, store);
            out.accept(new ResponseEvent.Lifecycle("response.created", nextSequence(), inProgress));
            out.accept(new ResponseEvent.Lifecycle("response.in_progress", nextSequence(), inProgress));
        }

        @Override
        public void accept(InferenceEvent event) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    if (t.text().isEmpty()) {
                        return;
                    }
                    openMessage();
                    text.append(t.text());
                    out.accept(new ResponseEvent.TextDelta("response.output_text.delta", nextSequence(), messageId,
                            index(), 0, t.text(), List.of()));
                }
                case InferenceEvent.ToolCallDelta d -> {
                    if (d.first()) {
                        closeMessage();
                        closeCall();
                        String callId = requireNonNull(d.id(), "a call's first delta has its id");
                        String name = requireNonNull(d.name(), "a call's first delta has its name");
                        callItemId = id("fc");
                        call = new ToolCall(callId, name, "");
                        out.accept(new ResponseEvent.OutputItem("response.output_item.added", nextSequence(), index(),
                                ResponseObject.OutputItem.functionCall(callItemId, "in_progress", callId, name, "")));
                    }
                    if (!d.arguments().isEmpty()) {
                        arguments.append(d.arguments());
                        out.accept(new ResponseEvent.ArgumentsDelta("response.function_call_arguments.delta",
                                nextSequence(), callItemId, index(), d.arguments()));
                    }
                }
                case InferenceEvent.End end -> {
                    if (done.isEmpty() && call == null) {
                        openMessage();
                    }
                    closeMessage();
                    closeCall();
                    finished = object(id, createdAt, request, status(end), List.copyOf(done), usage(end), store);
                    out.accept(new ResponseEvent.Lifecycle("response." + finished.status(), nextSequence(), finished));
                }
            }
        }

        /** The whole response, once the stream ended. */
        public ResponseObject finished() {
            if (finished == null) {
                throw new IllegalStateException("the stream has not ended");
            }
            return finished;
        }

        /** The position the open item has (or the next one will have) in {@code output}. */
        private int index() {
            return done.size();
        }

        private void openMessage() {
            if (messageId != null) {
                return;
            }
            messageId = id("msg");
            out.accept(new ResponseEvent.OutputItem("response.output_item.added", nextSequence(), index(),
                    ResponseObject.OutputItem.message(messageId, "in_progress", List.of())));
            out.accept(new ResponseEvent.ContentPart("response.content_part.added", nextSequence(), messageId, index(), 0,
                    ResponseObject.ContentPart.text("")));
        }

        private void closeMessage() {
            if (messageId == null) {
                return;
            }
            String all = text.toString();
            out.accept(new ResponseEvent.TextDone("response.output_text.done", nextSequence(), messageId, index(), 0,
                    all, List.of()));
            out.accept(new ResponseEvent.ContentPart("response.content_part.done", nextSequence(), messageId, index(), 0,
                    ResponseObject.ContentPart.text(all)));
            ResponseObject.OutputItem item = ResponseObject.OutputItem.message(messageId, "completed",
                    List.of(ResponseObject.ContentPart.text(all)));
            out.accept(new ResponseEvent.OutputItem("response.output_item.done", nextSequence(), index(), item));
            done.add(item);
            messageId = null;
        }

        private void closeCall() {
            if (call == null) {
                return;
            }
            String args = arguments.toString();
            out.accept(new ResponseEvent.ArgumentsDone("response.function_call_arguments.done", nextSequence(),
                    callItemId, index(), args));
            ResponseObject.OutputItem item = ResponseObject.OutputItem.functionCall(callItemId, "completed", call.id(),
                    call.name(), args);
            out.accept(new ResponseEvent.OutputItem("response.output_item.done", nextSequence(), index(), item));
            done.add(item);
            call = null;
            arguments.setLength(0);
        }
    }
}
