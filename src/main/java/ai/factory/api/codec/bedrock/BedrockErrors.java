package ai.factory.api.codec.bedrock;

import ai.factory.FactoryException;

/**
 * Amazon Bedrock's error shape: the status, the error type in {@code x-amzn-ErrorType} (the AWS SDKs raise the
 * exception class of that name) and {@code {"message": "…"}}. The one place factory error codes become
 * Bedrock errors, for whole responses and for exceptions inside an event stream alike.
 */
public final class BedrockErrors {
    private BedrockErrors() {}

    /** A Bedrock error: its HTTP status and its type, the name the SDK maps to an exception class. */
    public record Type(int status, String name) {
        /** The type as an event-stream exception names it: the union member, e.g. {@code throttlingException}. */
        public String eventName() {
            return Character.toLowerCase(name.charAt(0)) + name.substring(1);
        }
    }

    public static Type type(FactoryException e) {
        if (e instanceof ai.factory.quotas.QuotaExceededException q && !q.retryable() && !q.kind().isBudget()) {
            // A call that alone needs more than a per-minute limit: no wait makes it pass, so not a throttle the SDK
            // would retry, but a request to change.
            return new Type(400, "ValidationException");
        }
        return switch (e.code()) {
            case INVALID_REQUEST, CONTEXT_LENGTH_EXCEEDED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, LENGTH_REQUIRED ->
                    new Type(400, "ValidationException");
            case CONFLICT -> new Type(409, "ConflictException");
            case UNAUTHENTICATED -> switch (e.param() == null ? "" : e.param()) {
                // The names AWS answers with, so SDK users see the errors they know.
                case "credential" -> new Type(403, "UnrecognizedClientException");
                case "signature" -> new Type(403, "InvalidSignatureException");
                case "authorization" -> new Type(400, "IncompleteSignatureException");
                default -> new Type(403, "MissingAuthenticationTokenException");
            };
            case FORBIDDEN -> new Type(403, "AccessDeniedException");
            case NOT_FOUND -> new Type(404, "ResourceNotFoundException");
            // AWS answers an unsupported method with its generic 405; the SDKs raise it as the service's exception.
            case METHOD_NOT_ALLOWED -> new Type(405, "UnknownOperationException");
            case RATE_LIMITED -> new Type(429, "ThrottlingException");
            // A spent budget: what AWS answers past an account's service quota (a client error, not retried).
            case QUOTA_EXCEEDED -> new Type(400, "ServiceQuotaExceededException");
            // The model is loading (or failed to load): Bedrock's "not ready", which SDKs retry.
            case UNAVAILABLE -> new Type(429, "ModelNotReadyException");
            case INTERNAL -> new Type(500, "InternalServerException");
            // Bedrock has no 507; its SDKs know (and retry) a 503 ServiceUnavailableException.
            case INSUFFICIENT_STORAGE -> new Type(503, "ServiceUnavailableException");
            case TIMEOUT -> new Type(408, "ModelTimeoutException");
        };
    }

    /** The exception an event stream may carry for this error (its union has fewer members than the API). */
    public static Type streamType(FactoryException e) {
        Type type = type(e);
        return switch (e.code()) {
            case INVALID_REQUEST, CONTEXT_LENGTH_EXCEEDED, RATE_LIMITED, INTERNAL -> type;
            // Neither stream union has ServiceQuotaExceededException; a refusal comes before the stream anyway.
            case QUOTA_EXCEEDED -> new Type(429, "ThrottlingException");
            case UNAVAILABLE, INSUFFICIENT_STORAGE -> new Type(503, "ServiceUnavailableException");
            // Both stream unions (ConverseStream's and InvokeModelWithResponseStream's) carry this member.
            case TIMEOUT -> new Type(424, "ModelStreamErrorException");
            case UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE,
                 UNSUPPORTED_MEDIA_TYPE, LENGTH_REQUIRED ->
                    new Type(400, "ValidationException");
        };
    }
}
