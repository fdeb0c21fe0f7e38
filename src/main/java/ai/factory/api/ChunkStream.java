package ai.factory.api;

/**
 * Where a streamed OpenAI response goes, one JSON chunk at a time: server-sent events for OpenAI's own
 * endpoints ({@link SseStream}), or Bedrock's {@code chunk} events when an OpenAI body arrives through
 * InvokeModelWithResponseStream.
 */
public interface ChunkStream {
    void send(Object chunk);

    /** Writes something the client ignores, so a write failure tells that it has gone; may do nothing. */
    void keepAlive();

    /** The end of the stream. */
    void done();
}
