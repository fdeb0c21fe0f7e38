package ai.factory.api;

import ai.factory.Json;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response written as OpenAI frames it: {@code data: <json>\n\n} per event, flushed at once,
 * and {@code data: [DONE]\n\n} at the end. A failed write means the client went away: {@link ClientGoneException}.
 */
public final class SseStream implements ChunkStream {
    private final OutputStream out;

    public SseStream(Context ctx) {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    @Override
    public void send(Object event) {
        write(frame(event));
    }

    /** One event as the bytes of its SSE frame: {@code data: <json>\n\n}. */
    public static byte[] frame(Object event) {
        try {
            return ("data: " + Json.mapper().writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("event is not serialisable", e);
        }
    }

    /** A comment line: ignored by clients, but a write that fails tells that the client has gone. */
    @Override
    public void keepAlive() {
        write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void done() {
        write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
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
