package ai.factory.api.codec.openai;

import ai.factory.FactoryException;
import ai.factory.api.codec.ServiceTiers;
import ai.factory.api.codec.ApiFields;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.chat.ChatMessage;
import ai.factory.engine.chat.ToolCall;
import ai.factory.engine.chat.ToolChoice;
import ai.factory.engine.chat.ToolSpec;
import ai.factory.inference.Completion;
import ai.factory.inference.InferenceCall;
import ai.factory.inference.InferenceEvent;
import ai.factory.inference.InferenceRuns;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;

/**
 * OpenAI Chat Completions as the factory's calls: {@link #decode} reads a request body into an
 * {@link InferenceCall}, {@link #completion} writes a collected answer, and a {@link Stream} writes the events of a
 * streamed one as {@code chat.completion.chunk}s. The legacy {@code functions}/{@code function_call} fields map
 * onto tools, and their answer comes back in the legacy shape.
 */
public final class ChatCodec {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /** The factory's field names in Chat Completions' words, for errors the pipeline raises. */
    public static final ApiFields FIELDS = new ApiFields(Map.of("schema", "response_format.json_schema.schema",
            "prompt", "messages"));

    private ChatCodec() {}

    /**
     * A decoded request.
     *
     * @param n how many choices to generate (each constrained as the call says)
     * @param includeUsage a streamed answer ends with a usage chunk
     * @param legacyFunctions the request used {@code functions}: the answer names its call {@code function_call}
     */
    public record Decoded(InferenceCall call, int n, boolean stream, boolean includeUsage, boolean legacyFunctions) {}

    public static Decoded decode(ChatCompletionRequest r) {
        String model = Fields.requiredString(r.model(), "model");
        boolean stream = Boolean.TRUE.equals(r.stream());
        int n = Fields.n(r.n());
        List<ChatMessage> messages = messages(r.messages());
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        int topLogprobs = r.topLogprobs() == null ? 0 : r.topLogprobs();
        if (topLogprobs > 0 && !logprobs) {
            throw FactoryException.invalidParam("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        }
        boolean legacy = r.functions() != null && !r.functions().isEmpty();
        if (legacy && r.tools() != null && !r.tools().isEmpty()) {
            throw FactoryException.invalidParam("functions", "send either 'tools' or the legacy 'functions', not both");
        }
        InferenceCall.Tools tools = legacy ? legacyTools(r.functions(), r.functionCall())
                : tools(r.tools(), r.toolChoice(), r.parallelToolCalls());
        InferenceCall.OutputFormat format = format(r.responseFormat());
        if (tools.active() && !(format instanceof InferenceCall.OutputFormat.Text)) {
            throw FactoryException.invalidParam("response_format",
                    "a JSON response_format cannot be combined with tool calls yet; send tool_choice 'none' or no response_format");
        }
        SamplingParams sampling = Fields.sampling(r.temperature(), r.topP(), r.topK(), r.minP(), r.repetitionPenalty(),
                r.presencePenalty(), r.frequencyPenalty(), r.seed());
        int maxTokens = Fields.maxTokens(r.maxCompletionTokens(), "max_completion_tokens",
                Fields.maxTokens(r.maxTokens(), "max_tokens", 0));
        InferenceCall call = new InferenceCall(model, new InferenceCall.Prompt.Chat(messages), tools, format, sampling,
                maxTokens, Fields.stop(r.stop()), Boolean.TRUE.equals(r.ignoreEos()), logprobs, topLogprobs,
                Fields.logitBias(r.logitBias())).withPriority(ServiceTiers.priority(r.serviceTier(), "service_tier"));
        boolean includeUsage = stream && r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        return new Decoded(call, n, stream, includeUsage, legacy);
    }

    private static List<ChatMessage> messages(List<ChatCompletionRequest.Message> list) {
        if (list == null) {
            throw FactoryException.invalidParam("messages", "'messages' is required: an array of {role, content}");
        }
        if (list.isEmpty()) {
            throw FactoryException.invalidParam("messages", "'messages' must be a non-empty array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            ChatCompletionRequest.Message m = list.get(i);
            String where = "messages[" + i + "]";
            if (m == null) {
                throw FactoryException.invalidParam(where, where + " must be an object");
            }
            if (m.role() == null || !ROLES.contains(m.role())) {
                throw FactoryException.invalidParam(where + ".role", where + ".role must be one of "
                        + "system, developer, user, assistant, tool");
            }
            List<ToolCall> calls = m.toolCalls() == null ? List.of() : historyCalls(m.toolCalls(), where);
            if (!calls.isEmpty() && !m.role().equals("assistant")) {
                throw FactoryException.invalidParam(where + ".tool_calls", where + ".tool_calls belongs to assistant messages");
            }
            // OpenAI lets only an assistant turn that called tools leave its content out.
            boolean contentOptional = m.role().equals("assistant");
            String content = content(m.content(), where + ".content", contentOptional);
            ChatMessage message = switch (m.role()) {
                case "tool" -> {
                    if (m.toolCallId() == null || m.toolCallId().isEmpty()) {
                        throw FactoryException.invalidParam(where + ".tool_call_id",
                                where + ".tool_call_id is required: the id of the call this is the result of");
                    }
                    yield ChatMessage.toolResult(m.toolCallId(), content);
                }
                case "assistant" -> calls.isEmpty() ? ChatMessage.assistant(content) : ChatMessage.assistantCalls(content, calls);
                case "developer" -> ChatMessage.system(content);
                default -> new ChatMessage(m.role(), content, null);
            };
            out.add(m.name() == null ? message : message.withName(m.name()));
        }
        return out;
    }

    private static List<ToolCall> historyCalls(List<ChatCompletionRequest.ToolCall> calls, String where) {
        List<ToolCall> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            ChatCompletionRequest.ToolCall c = calls.get(i);
            String at = where + ".tool_calls[" + i + "]";
            if (c == null || c.id() == null || c.function() == null || c.function().name() == null) {
                throw FactoryException.invalidParam(at, at + " needs an id and a function with a name");
            }
            out.add(new ToolCall(c.id(), c.function().name(), c.function().arguments() == null ? "{}" : c.function().arguments()));
        }
        return out;
    }

    /** OpenAI content is a string or an array of parts; text parts are joined, other kinds are refused. */
    private static String content(JsonNode content, String where, boolean optional) {
        if (content == null || content.isNull()) {
            if (optional) {
                return "";
            }
            throw FactoryException.invalidParam(where, where + " is required: a string or an array of text parts");
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw FactoryException.invalidParam(where, where + " must be a string or an array of parts");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode part : content) {
            String type = part.path("type").asText("");
            if (!"text".equals(type) || !part.path("text").isTextual()) {
                throw FactoryException.invalidParam(where, where + " has a content part of type '"
                        + type + "'; only text parts are supported");
            }
            text.append(part.path("text").asText());
        }
        return text.toString();
    }

    private static InferenceCall.Tools tools(List<ChatCompletionRequest.Tool> tools, JsonNode choice, Boolean parallel) {
        List<ToolSpec> specs = new ArrayList<>();
        if (tools != null) {
            for (int i = 0; i < tools.size(); i++) {
                ChatCompletionRequest.Tool t = tools.get(i);
                String where = "tools[" + i + "]";
                if (t == null || !"function".equals(t.type()) || t.function() == null) {
                    throw FactoryException.invalidParam(where, where + " must be {\"type\": \"function\", \"function\": {…}}");
                }
                specs.add(spec(t.function(), where + ".function"));
            }
        }
        return new InferenceCall.Tools(specs, toolChoice(choice, specs.isEmpty()), parallel == null || parallel);
    }

    private static ToolSpec spec(ChatCompletionRequest.FunctionDefinition f, String where) {
        if (f.name() == null) {
            throw FactoryException.invalidParam(where + ".name", where + ".name is required");
        }
        if (f.parameters() != null && !f.parameters().isNull() && !f.parameters().isObject()) {
            throw FactoryException.invalidParam(where + ".parameters", where + ".parameters must be a JSON Schema object");
        }
        return new ToolSpec(f.name(), f.description(), f.parameters());
    }

    private static ToolChoice toolChoice(JsonNode choice, boolean noTools) {
        if (choice == null || choice.isNull()) {
            return noTools ? ToolChoice.NONE : ToolChoice.AUTO;
        }
        if (choice.isTextual()) {
            return switch (choice.asText()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw FactoryException.invalidParam("tool_choice",
                        "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": …}}");
            };
        }
        JsonNode name = choice.path("function").path("name");
        if (!choice.isObject() || !"function".equals(choice.path("type").asText()) || !name.isTextual()) {
            throw FactoryException.invalidParam("tool_choice",
                    "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": …}}");
        }
        return new ToolChoice.Named(name.asText());
    }

    /** The legacy form: {@code functions} are tools, {@code function_call} is the choice, one call at most. */
    private static InferenceCall.Tools legacyTools(List<ChatCompletionRequest.FunctionDefinition> functions, JsonNode call) {
        List<ToolSpec> specs = new ArrayList<>();
        for (int i = 0; i < functions.size(); i++) {
            if (functions.get(i) == null) {
                throw FactoryException.invalidParam("functions[" + i + "]", "functions[" + i + "] must be an object");
            }
            specs.add(spec(functions.get(i), "functions[" + i + "]"));
        }
        ToolChoice choice;
        if (call == null || call.isNull() || "auto".equals(call.asText(null))) {
            choice = ToolChoice.AUTO;
        } else if ("none".equals(call.asText(null))) {
            choice = ToolChoice.NONE;
        } else if (call.isObject() && call.path("name").isTextual()) {
            choice = new ToolChoice.Named(call.path("name").asText());
        } else {
            throw FactoryException.invalidParam("function_call", "'function_call' must be 'none', 'auto' or {\"name\": …}");
        }
        try {
            return new InferenceCall.Tools(specs, choice, false);
        } catch (FactoryException e) {
            throw "tool_choice".equals(e.param()) ? FactoryException.invalidParam("function_call",
                    e.getMessage().replace("tool_choice", "function_call").replace("tools", "functions")) : e;
        }
    }

    private static InferenceCall.OutputFormat format(ChatCompletionRequest.ResponseFormat f) {
        if (f == null || f.type() == null) {
            if (f != null) {
                throw FactoryException.invalidParam("response_format.type", "'response_format.type' is required");
            }
            return InferenceCall.OutputFormat.TEXT;
        }
        return switch (f.type()) {
            case "text" -> InferenceCall.OutputFormat.TEXT;
            case "json_object" -> new InferenceCall.OutputFormat.JsonObject();
            case "json_schema" -> {
                var s = f.jsonSchema();
                if (s == null || s.name() == null || s.schema() == null || !s.schema().isObject()) {
                    throw FactoryException.invalidParam("response_format.json_schema",
                            "'response_format.json_schema' needs a 'name' and a 'schema' object");
                }
                yield new InferenceCall.OutputFormat.JsonSchema(s.name(), s.schema());
            }
            default -> throw FactoryException.invalidParam("response_format.type",
                    "'response_format.type' must be 'text', 'json_object' or 'json_schema'");
        };
    }

    /** The answer to a request that was not streamed: a choice per generated reply, by index. */
    public static ChatCompletion completion(String id, long created, String model, Decoded request,
                                            InferenceRuns.Collected collected) {
        List<ChatCompletion.Choice> choices = new ArrayList<>();
        for (int i = 0; i < collected.choices().size(); i++) {
            choices.add(choice(i, request, collected.choices().get(i)));
        }
        return new ChatCompletion(id, "chat.completion", created, model, Fields.SYSTEM_FINGERPRINT, choices,
                usage(collected.usage()));
    }

    private static ChatCompletion.Choice choice(int index, Decoded request, Completion c) {
        List<ChatCompletion.ToolCall> calls = c.toolCalls().stream().map(t -> new ChatCompletion.ToolCall(t.id(),
                "function", new ChatCompletion.Function(t.name(), t.arguments()))).toList();
        String content = calls.isEmpty() || !c.text().isBlank() ? c.text() : null;
        ChatCompletion.Message message = request.legacyFunctions()
                ? new ChatCompletion.Message("assistant", content, null, List.of(), calls.isEmpty() ? null : calls.getFirst().function())
                : new ChatCompletion.Message("assistant", content, null, calls, null);
        ChatCompletion.Logprobs logprobs = request.call().logprobs()
                ? new ChatCompletion.Logprobs(c.tokens().stream().map(ChatCodec::logprob).toList()) : null;
        return new ChatCompletion.Choice(index, message, logprobs, finishReason(c.end().reason(), request));
    }

    static String finishReason(InferenceEvent.Finish finish, Decoded request) {
        return switch (finish) {
            case STOP, STOP_SEQUENCE, CANCELLED -> "stop";
            case LENGTH -> "length";
            case TOOL_CALLS -> request.legacyFunctions() ? "function_call" : "tool_calls";
        };
    }

    static ChatCompletion.Usage usage(InferenceRuns.Usage usage) {
        return new ChatCompletion.Usage(usage.promptTokens(), usage.completionTokens(),
                usage.promptTokens() + usage.completionTokens(),
                new ChatCompletion.PromptTokensDetails(usage.cachedPromptTokens()));
    }

    private static ChatCompletion.TokenLogprob logprob(TokenEvent.Token t) {
        return new ChatCompletion.TokenLogprob(t.text(), t.logprob(), bytes(t.text()),
                t.top().stream().map(a -> new ChatCompletion.TopLogprob(a.text(), a.logprob(), bytes(a.text()))).toList());
    }

    private static List<Integer> bytes(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            out.add(b & 0xff);
        }
        return out;
    }

    /**
     * Writes a streamed answer's events as chunks to a sink ({@code data:} frames, or Bedrock's chunk events): each
     * chunk carries one choice's delta with that choice's index, the choices interleaved as they come, each ending
     * with its own finish chunk; {@link #end} adds the usage chunk when asked for.
     */
    public static final class Stream implements ObjIntConsumer<InferenceEvent> {
        private final String id;
        private final long created;
        private final String model;
        private final Decoded request;
        private final Consumer<Object> out;

        public Stream(String id, long created, String model, Decoded request, Consumer<Object> out) {
            this.id = id;
            this.created = created;
            this.model = model;
            this.request = request;
            this.out = out;
        }

        /** The first chunk of every choice: the assistant's role. */
        public void start() {
            for (int i = 0; i < request.n(); i++) {
                send(i, new ChatCompletionChunk.Delta("assistant", "", null, null), null, null);
            }
        }

        @Override
        public void accept(InferenceEvent event, int choice) {
            switch (event) {
                case InferenceEvent.Text t -> {
                    TokenEvent.Token token = request.call().logprobs() ? t.token() : null;
                    if (!t.text().isEmpty() || token != null) {
                        send(choice, ChatCompletionChunk.Delta.content(t.text()),
                                token != null ? new ChatCompletion.Logprobs(List.of(logprob(token))) : null, null);
                    }
                }
                case InferenceEvent.ToolCallDelta d -> {
                    ChatCompletionChunk.FunctionDelta function = new ChatCompletionChunk.FunctionDelta(d.name(), d.arguments());
                    ChatCompletionChunk.Delta delta = request.legacyFunctions()
                            ? new ChatCompletionChunk.Delta(null, null, null, function)
                            : new ChatCompletionChunk.Delta(null, null, List.of(new ChatCompletionChunk.ToolCallDelta(
                                    d.index(), d.id(), d.first() ? "function" : null, function)), null);
                    send(choice, delta, null, null);
                }
                case InferenceEvent.End end -> send(choice, ChatCompletionChunk.Delta.EMPTY, null,
                        finishReason(end.reason(), request));
            }
        }

        /** After every choice ended: the usage chunk, when the caller asked for it. */
        public void end(InferenceRuns.Usage usage) {
            if (request.includeUsage()) {
                out.accept(new ChatCompletionChunk(id, "chat.completion.chunk", created, model,
                        Fields.SYSTEM_FINGERPRINT, List.of(), usage(usage)));
            }
        }

        private void send(int choice, ChatCompletionChunk.Delta delta, ChatCompletion.@Nullable Logprobs logprobs,
                          @Nullable String finishReason) {
            out.accept(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, Fields.SYSTEM_FINGERPRINT,
                    List.of(new ChatCompletionChunk.Choice(choice, delta, logprobs, finishReason)), null));
        }
    }
}
