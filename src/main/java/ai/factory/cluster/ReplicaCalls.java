package ai.factory.cluster;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TokenEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The calls the control plane makes to a worker's replica, and their JSON, shared by both sides: {@code POST
 * /worker/v1/replicas/{assignment}/tokenize}, {@code /detokenize} and {@code /generate}. A generation's answer is
 * one JSON object per line (NDJSON), each an event of one of the call's generations: {@code {"i":0,"token":{…}}} or
 * {@code {"i":0,"done":{…}}}. Errors are {@code {"error":{"code":"RATE_LIMITED","message":…,"param":…}}}, the code
 * an {@link ErrorCode} name, so that the control plane answers its callers exactly as a local replica would.
 */
public final class ReplicaCalls {
    public static final String PREFIX = "/worker/v1/replicas/";
    public static final String TOKENIZE = "/tokenize";
    public static final String DETOKENIZE = "/detokenize";
    public static final String GENERATE = "/generate";
    /** Tells the worker to send its next heartbeat now (it has new assignments); answered 204. */
    public static final String HEARTBEAT_NOW = "/worker/v1/heartbeat-now";

    private ReplicaCalls() {
    }

    /** A tokenize call's body. */
    public record Tokenize(String text, boolean addSpecial, boolean parseSpecial) {}

    /** A detokenize call's body. */
    public record Detokenize(int[] tokens) {}

    /** A generate call's body: generations that belong together, as {@code TextEngine.submitAll} takes them. */
    public record Generate(List<GenerationRequest> requests) {}

    /** One line of a generate call's answer. */
    public static String line(int index, TokenEvent event) {
        ObjectNode line = Json.mapper().createObjectNode().put("i", index);
        switch (event) {
            case TokenEvent.Token t -> {
                ObjectNode token = line.putObject("token").put("id", t.id()).put("text", t.text());
                if (!Float.isNaN(t.logprob())) {
                    token.put("logprob", t.logprob());
                }
                if (!t.top().isEmpty()) {
                    ArrayNode top = token.putArray("top");
                    t.top().forEach(a -> top.addObject().put("id", a.id()).put("text", a.text())
                            .put("logprob", a.logprob()));
                }
            }
            case TokenEvent.Done d -> {
                ObjectNode done = line.putObject("done").put("reason", d.reason().name())
                        .put("promptTokens", d.promptTokens()).put("completionTokens", d.completionTokens())
                        .put("cachedPromptTokens", d.cachedPromptTokens());
                if (d.error() != null) {
                    done.put("error", d.error());
                }
            }
        }
        return line.toString();
    }

    /** An event of a generate call's answer, and which generation it belongs to. */
    public record Event(int index, TokenEvent event) {}

    /** Reads one line of a generate call's answer; INTERNAL when it is not one. */
    public static Event event(String line) {
        JsonNode node;
        try {
            node = Json.mapper().readTree(line);
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "a worker answered a line that is not JSON: " + e.getMessage());
        }
        int index = node.path("i").asInt(-1);
        if (node.has("token")) {
            JsonNode t = node.get("token");
            List<TokenEvent.TopLogprob> top = new ArrayList<>();
            t.path("top").forEach(a -> top.add(new TokenEvent.TopLogprob(a.path("id").asInt(), a.path("text").asText(),
                    (float) a.path("logprob").asDouble())));
            return new Event(index, new TokenEvent.Token(t.path("id").asInt(), t.path("text").asText(),
                    t.has("logprob") ? (float) t.get("logprob").asDouble() : Float.NaN, top));
        }
        if (node.has("done")) {
            JsonNode d = node.get("done");
            TokenEvent.FinishReason reason;
            try {
                reason = TokenEvent.FinishReason.valueOf(d.path("reason").asText());
            } catch (IllegalArgumentException e) {
                throw new FactoryException(ErrorCode.INTERNAL, "a worker answered an unknown finish reason: "
                        + d.path("reason").asText());
            }
            return new Event(index, new TokenEvent.Done(reason, d.path("promptTokens").asInt(),
                    d.path("completionTokens").asInt(), d.path("cachedPromptTokens").asInt(),
                    d.hasNonNull("error") ? d.get("error").asText() : null));
        }
        throw new FactoryException(ErrorCode.INTERNAL, "a worker answered a line that is neither a token nor the end");
    }

    /** The error body of a failed call. */
    public static String error(FactoryException e) {
        ObjectNode error = Json.mapper().createObjectNode();
        ObjectNode inner = error.putObject("error").put("code", e.code().name())
                .put("message", String.valueOf(e.getMessage()));
        if (e.param() != null) {
            inner.put("param", e.param());
        }
        return error.toString();
    }

    /** The exception a failed call's answer stands for, as the worker's replica threw it. */
    public static FactoryException exception(int status, @Nullable String body) {
        JsonNode error;
        try {
            error = Json.mapper().readTree(body == null || body.isBlank() ? "{}" : body).path("error");
        } catch (JsonProcessingException e) {
            error = Json.mapper().createObjectNode();
        }
        ErrorCode code;
        try {
            code = ErrorCode.valueOf(error.path("code").asText("").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            code = status == 503 ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL;
        }
        String message = error.path("message").asText("the worker answered " + status);
        return error.hasNonNull("param") ? FactoryException.about(code, error.get("param").asText(), message)
                : new FactoryException(code, message);
    }
}
