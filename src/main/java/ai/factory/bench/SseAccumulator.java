package ai.factory.bench;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.util.Arrays;

/**
 * Reads the server-sent events of one streamed OpenAI completion or chat completion, line by line
 * with the time each line arrived, into a {@link RequestResult}. Following the SSE rules, lines
 * starting with {@code :} are comments (keep-alives), {@code data:} lines accumulate until a blank
 * line ends the event, and other fields ({@code event:}, {@code id:}) are ignored. An event
 * {@code [DONE]} ends the stream; a JSON event with an {@code error} member is a stream error; one
 * whose first choice carries non-empty {@code text} (completions) or {@code delta.content} or
 * {@code delta.reasoning_content} (chat) is a token event, timed by its first data line; a non-null
 * {@code usage} gives the output token count. The text and content of the token events make the answer, which the
 * next turn of a session carries forward.
 */
final class SseAccumulator {
    private final long startNanos;
    private final StringBuilder data = new StringBuilder();
    private final StringBuilder answer = new StringBuilder();
    private long dataNanos = -1;
    private long firstTokenNanos = -1;
    private long lastTokenNanos = -1;
    private double[] gaps = new double[64];
    private int gapCount;
    private int tokenEvents;
    private int usageTokens = -1;
    private long doneNanos = -1;
    /** Why the stream failed, once it did. */
    private @Nullable String error;

    SseAccumulator(long startNanos) {
        this.startNanos = startNanos;
    }

    /** Takes one line of the stream, without its line terminator, which arrived at {@code nanos}. */
    void line(String line, long nanos) {
        if (doneNanos >= 0 || error != null) {
            return;
        }
        if (line.isEmpty()) {
            dispatch();
        } else if (line.startsWith("data:")) {
            if (dataNanos < 0) {
                dataNanos = nanos;
            } else {
                data.append('\n');
            }
            data.append(line, line.startsWith("data: ") ? 6 : 5, line.length());
        }
    }

    /** Whether {@code [DONE]} has arrived. */
    boolean done() {
        return doneNanos >= 0;
    }

    /** The answer's text so far (without reasoning). */
    String answer() {
        return answer.toString();
    }

    /** The result once the stream has ended at {@code endNanos}; a request ends at its {@code [DONE]}, if it came. */
    RequestResult finish(long endNanos) {
        dispatch();
        double e2e = millis((doneNanos >= 0 ? doneNanos : endNanos) - startNanos);
        if (error != null) {
            return RequestResult.failed(error, e2e);
        }
        if (doneNanos < 0) {
            return RequestResult.failed("truncated_stream", e2e);
        }
        int tokens = usageTokens >= 0 ? usageTokens : tokenEvents;
        double ttft = firstTokenNanos < 0 ? Double.NaN : millis(firstTokenNanos - startNanos);
        return new RequestResult(null, ttft, e2e, tokens, Arrays.copyOf(gaps, gapCount), 1);
    }

    private void dispatch() {
        if (dataNanos < 0) {
            return;
        }
        String payload = data.toString();
        long at = dataNanos;
        data.setLength(0);
        dataNanos = -1;
        if (payload.strip().equals("[DONE]")) {
            doneNanos = at;
            return;
        }
        JsonNode event;
        try {
            event = Json.mapper().readTree(payload);
        } catch (JsonProcessingException e) {
            error = "bad_event";
            return;
        }
        if (event.hasNonNull("error")) {
            error = "stream_error";
            return;
        }
        JsonNode usage = event.get("usage");
        if (usage != null && usage.hasNonNull("completion_tokens")) {
            usageTokens = usage.get("completion_tokens").asInt();
        }
        JsonNode choice = event.path("choices").path(0);
        String text = choice.path("text").asText("") + choice.path("delta").path("content").asText("");
        answer.append(text);
        if (!text.isEmpty() || !choice.path("delta").path("reasoning_content").asText("").isEmpty()) {
            token(at);
        }
    }

    private void token(long at) {
        tokenEvents++;
        if (firstTokenNanos < 0) {
            firstTokenNanos = at;
        } else {
            if (gapCount == gaps.length) {
                gaps = Arrays.copyOf(gaps, gapCount * 2);
            }
            gaps[gapCount++] = millis(at - lastTokenNanos);
        }
        lastTokenNanos = at;
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
