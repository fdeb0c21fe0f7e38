package ai.factory;

/**
 * What went wrong, independent of any API's wire format. Each API maps a code to its own
 * status and error shape in one place.
 */
public enum ErrorCode {
    INVALID_REQUEST(400),
    /** The prompt does not fit the model's context (OpenAI's {@code context_length_exceeded}). */
    CONTEXT_LENGTH_EXCEEDED(400),
    UNAUTHENTICATED(401),
    FORBIDDEN(403),
    NOT_FOUND(404),
    /** The path exists, the method does not; the answer names the methods it takes ({@code Allow}). */
    METHOD_NOT_ALLOWED(405),
    CONFLICT(409),
    /** A body was expected and its length was not declared (HTTP/1.x: no Content-Length, not chunked). */
    LENGTH_REQUIRED(411),
    PAYLOAD_TOO_LARGE(413),
    UNSUPPORTED_MEDIA_TYPE(415),
    /** Too many calls or tokens in a short time (a queue full, a per-minute or concurrency limit): retry shortly. */
    RATE_LIMITED(429),
    /** A budget (tokens per day or month) is spent: retrying before it renews does not help. */
    QUOTA_EXCEEDED(429),
    /** The work took longer than the factory allows; it was stopped. */
    TIMEOUT(504),
    INTERNAL(500),
    /** The disk the factory writes to is full; the answer says how much is free. */
    INSUFFICIENT_STORAGE(507),
    UNAVAILABLE(503);

    private final int httpStatus;

    ErrorCode(int httpStatus) {
        this.httpStatus = httpStatus;
    }

    public int httpStatus() {
        return httpStatus;
    }
}
