package ai.factory.api;

import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * A server-sent-events response written as OpenAI frames it: status and headers sent when it is made,
 * {@code data: <json>\n\n} per event, flushed at once,
 * and {@code data: [DONE]\n\n} at the end; an error after the stream began is one more {@code data:} frame holding
 * the API's error object, then {@code [DONE]}. A failed write means the client went away:
 * {@link ClientGoneException}.
 */
public final class SseStream implements ResponseSink {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    /** The shared mapper's settings; the stream stays open after each event. */
    private static final ObjectWriter EVENT_WRITER = Json.mapper().writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private final OutputStream out;
    private final Function<FactoryException, Object> errorBody;
    private final @Nullable String errorEvent;

    /**
     * An OpenAI Chat Completions stream: {@code data:} frames, {@code [DONE]} at the end.
     *
     * @param errorBody the API's error object for a failure after the stream began
     */
    public SseStream(Context ctx, Function<FactoryException, Object> errorBody) {
        this(ctx, errorBody, null);
    }

    /**
     * A stream of named events ({@code event: NAME} before each {@code data:} frame), as the Responses API sends
     * them: no {@code [DONE]}; a failure is an event named {@code errorEvent}.
     */
    public static SseStream named(Context ctx, String errorEvent, Function<FactoryException, Object> errorBody) {
        return new SseStream(ctx, errorBody, errorEvent);
    }

    private SseStream(Context ctx, Function<FactoryException, Object> errorBody, @Nullable String errorEvent) {
        this.errorBody = errorBody;
        this.errorEvent = errorEvent;
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
            // The status and headers go at once, so a client whose call waits in the queue for a slot knows it was
            // accepted (and its HTTP client's wait for a response ends) before the first event.
            out.flush();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    public void send(Object event) {
        try {
            writeFrame(out, event);
            out.flush();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /** An event named {@code name}: {@code event: NAME\ndata: <json>\n\n}. */
    public void send(String name, Object event) {
        try {
            out.write(("event: " + name + "\n").getBytes(StandardCharsets.UTF_8));
            writeFrame(out, event);
            out.flush();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /**
     * Writes one event as its SSE frame, {@code data: <json>\n\n}, to {@code out} without flushing. The JSON goes
     * straight into {@code out}: no intermediate string, nor a second copy of it as bytes.
     */
    public static void writeFrame(OutputStream out, Object event) throws IOException {
        out.write(DATA);
        try {
            EVENT_WRITER.writeValue(out, event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("event is not serialisable", e);
        }
        out.write(END);
    }

    /** A comment line: ignored by clients, but a write that fails tells that the client has gone. */
    @Override
    public void keepAlive() {
        write(KEEP_ALIVE);
    }

    @Override
    public void fail(FactoryException e) {
        if (errorEvent != null) {
            send(errorEvent, errorBody.apply(e));
            return;
        }
        send(errorBody.apply(e));
        done();
    }

    /** The end of an OpenAI Chat Completions stream, {@code data: [DONE]}. */
    public void done() {
        write(DONE);
    }

    private void write(byte[] frame) {
        try {
            out.write(frame);
            out.flush();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /** The client closed the connection; whatever produced the stream should stop. */
    public static final class ClientGoneException extends RuntimeException {
        ClientGoneException(IOException cause) {
            super("the client closed the connection", cause);
        }
    }
}
