package ai.factory.api;

import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

/**
 * A response in AWS's event-stream encoding ({@code application/vnd.amazon.eventstream}), as the AWS SDKs read
 * Bedrock's streaming operations: binary frames with a prelude, headers and CRCs (written by AWS's own
 * {@code eventstream} library), each flushed at once. An event carries {@code :message-type: event} and its
 * {@code :event-type}; a failure after the stream began is a frame with {@code :message-type: exception} and
 * {@code :exception-type}. A failed write means the client went away: {@link SseStream.ClientGoneException}.
 */
public final class AwsEventStream implements ResponseSink {
    public static final String CONTENT_TYPE = "application/vnd.amazon.eventstream";

    private final OutputStream out;
    private final Function<FactoryException, String> exceptionType;

    /** @param exceptionType the exception member of the stream's union that carries a failure */
    public AwsEventStream(Context ctx, Function<FactoryException, String> exceptionType) {
        this.exceptionType = exceptionType;
        ctx.status(200);
        ctx.res().setContentType(CONTENT_TYPE);
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }

    /** An event whose payload is {@code payload} as JSON. */
    public void event(String eventType, Object payload) {
        Map<String, HeaderValue> headers = new LinkedHashMap<>();
        headers.put(":event-type", HeaderValue.fromString(eventType));
        headers.put(":content-type", HeaderValue.fromString("application/json"));
        headers.put(":message-type", HeaderValue.fromString("event"));
        write(new Message(headers, json(payload)));
    }

    /** Nothing yet: the event-stream protocol has no frame that the SDKs ignore. */
    @Override
    public void keepAlive() {}

    @Override
    public void fail(FactoryException e) {
        exception(exceptionType.apply(e), e.getMessage());
    }

    /** A modelled exception (e.g. {@code throttlingException}) that ends the stream. */
    public void exception(String exceptionType, String message) {
        Map<String, HeaderValue> headers = new LinkedHashMap<>();
        headers.put(":exception-type", HeaderValue.fromString(exceptionType));
        headers.put(":content-type", HeaderValue.fromString("application/json"));
        headers.put(":message-type", HeaderValue.fromString("exception"));
        write(new Message(headers, json(Map.of("message", message))));
    }

    private static byte[] json(Object payload) {
        try {
            return Json.mapper().writeValueAsBytes(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("event is not serialisable", e);
        }
    }

    private void write(Message message) {
        ByteBuffer frame = message.toByteBuffer();
        try {
            out.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            out.flush();
        } catch (IOException e) {
            throw new SseStream.ClientGoneException(e);
        }
    }
}
