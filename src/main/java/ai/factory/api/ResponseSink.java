package ai.factory.api;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.slf4j.LoggerFactory;

/**
 * A streamed response in one wire format (server-sent events, AWS event stream). Once the first frame is out, the
 * status is sent and an error can no longer be an error response: the sink frames it as its protocol frames errors
 * and ends the stream. It also owns the keep-alive that notices a departed client during silence
 * ({@link SseStream.ClientGoneException}, which propagates so the generation is cancelled).
 */
public interface ResponseSink {
    /** Writes something the client ignores, so that a write failure tells that it has gone; may do nothing. */
    void keepAlive();

    /** A failure after the response began, framed as this protocol frames errors; nothing follows it. */
    void fail(FactoryException e);

    /** Runs {@code body}, which writes the stream; a {@link FactoryException} it throws ends the stream framed. */
    default void guard(Runnable body) {
        try {
            body.run();
        } catch (FactoryException e) {
            if (e.code() == ErrorCode.INTERNAL) {
                LoggerFactory.getLogger(ResponseSink.class).error("a streamed response failed", e);
            }
            fail(e);
        }
    }
}
