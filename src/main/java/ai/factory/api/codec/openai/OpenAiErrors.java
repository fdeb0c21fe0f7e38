package ai.factory.api.codec.openai;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.quotas.QuotaExceededException;
import org.jspecify.annotations.Nullable;
import java.util.LinkedHashMap;
import java.util.Map;

/** How the factory's errors read in OpenAI's API: the error object, its {@code type} and its {@code code}. */
public final class OpenAiErrors {
    private OpenAiErrors() {}

    /** OpenAI's error object, {@code {"error": {"message", "type", "param", "code"}}}, in answers and in streams. */
    public static Map<String, Object> error(FactoryException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("message", e.getMessage());
        body.put("type", e instanceof QuotaExceededException q ? quotaType(q) : type(e.code()));
        body.put("param", e.param());
        // A lookup that names its own field (a response id) is not a model that is missing.
        body.put("code", e.code() == ErrorCode.NOT_FOUND && e.param() != null && !e.param().equals("model") ? null
                : code(e.code()));
        return Map.of("error", body);
    }

    /** As OpenAI types its limits' refusals: {@code requests} or {@code tokens}, or a spent {@code insufficient_quota}. */
    private static String quotaType(QuotaExceededException q) {
        return switch (q.kind()) {
            case TOKENS -> "tokens";
            case REQUESTS, CONCURRENCY -> "requests";
            case DAY, MONTH -> "insufficient_quota";
        };
    }

    private static String type(ErrorCode code) {
        return switch (code) {
            case INVALID_REQUEST, CONTEXT_LENGTH_EXCEEDED, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE,
                 UNSUPPORTED_MEDIA_TYPE, LENGTH_REQUIRED -> "invalid_request_error";
            case UNAUTHENTICATED -> "authentication_error";
            case FORBIDDEN -> "permission_error";
            case RATE_LIMITED -> "rate_limit_error";
            case QUOTA_EXCEEDED -> "insufficient_quota";
            case INTERNAL, UNAVAILABLE, TIMEOUT, INSUFFICIENT_STORAGE -> "server_error";
        };
    }

    /** OpenAI's {@code code} for an error, where OpenAI has one. */
    public static @Nullable String code(ErrorCode code) {
        return switch (code) {
            case UNAUTHENTICATED -> "invalid_api_key";
            case NOT_FOUND -> "model_not_found";
            case RATE_LIMITED -> "rate_limit_exceeded";
            case QUOTA_EXCEEDED -> "insufficient_quota";
            case TIMEOUT -> "timeout";
            case CONTEXT_LENGTH_EXCEEDED -> "context_length_exceeded";
            case INVALID_REQUEST, METHOD_NOT_ALLOWED, FORBIDDEN, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE,
                 LENGTH_REQUIRED, INTERNAL, UNAVAILABLE, INSUFFICIENT_STORAGE -> null;
        };
    }
}
