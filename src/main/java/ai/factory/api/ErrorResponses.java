package ai.factory.api;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.codec.bedrock.BedrockErrors;
import ai.factory.api.codec.openai.OpenAiErrors;
import ai.factory.quotas.QuotaExceededException;
import com.fasterxml.jackson.core.JacksonException;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Turns every failure into the error shape of the API it happened on: OpenAI's
 * {@code {"error": {"message", "type", "param", "code"}}} under {@code /v1}, and the factory's own
 * {@code {"error": {"code", "message", "param"}}} elsewhere; Amazon Bedrock's paths get AWS's shape from
 * {@link BedrockErrors}. The one place codes become statuses.
 */
public final class ErrorResponses {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorResponses.class);

    /**
     * The request attribute that says the answer refused an authorization, whatever its status: a resource of another
     * project answers 404 as a missing one does ({@link FactoryException#asDenial()}), and the audit still has to
     * record the decision as a denial.
     */
    public static final String DENIED = "factory.denied";

    private ErrorResponses() {}

    public static void handle(Exception e, Context ctx) {
        if (e instanceof SseStream.ClientGoneException) {
            // Nothing to answer: the generation was cancelled and the client is not listening.
            LOG.debug("client left during {} {}", ctx.method(), ctx.path());
            RequestAudit.clientLeft(ctx);
            return;
        }
        FactoryException fe = switch (e) {
            case FactoryException f -> f;
            case JacksonException j -> new FactoryException(ErrorCode.INVALID_REQUEST,
                    "the request body is not valid JSON: " + j.getOriginalMessage());
            case HttpResponseException h when h.getStatus() == 413 -> new FactoryException(ErrorCode.PAYLOAD_TOO_LARGE,
                    "the request body is larger than this server accepts (server.maxRequestSize)");
            case HttpResponseException h -> new FactoryException(codeFor(h.getStatus()),
                    String.valueOf(h.getMessage()));
            default -> {
                LOG.error("unexpected failure on {} {}", ctx.method(), ctx.path(), e);
                yield new FactoryException(ErrorCode.INTERNAL, "internal error; the server log has the details");
            }
        };
        if (fe.code() == ErrorCode.INTERNAL && e instanceof FactoryException) {
            LOG.error("internal error on {} {}", ctx.method(), ctx.path(), e);
        }
        write(ctx, fe);
    }

    public static void write(Context ctx, FactoryException e) {
        if (e.isDenial()) {
            ctx.attribute(DENIED, Boolean.TRUE);
        }
        if (e instanceof QuotaExceededException q) {
            RequestAudit.refused(ctx, q.auditDetail());
        }
        Answer answer = answer(ApiFamily.of(ctx), e, e.code().httpStatus());
        ctx.status(answer.status());
        answer.headers().forEach(ctx::header);
        ctx.json(answer.body());
    }

    /**
     * An error answer: its status, headers and JSON body.
     *
     * @param status the HTTP status, which may be more precise than the code's own (431, 414, 408)
     */
    public record Answer(int status, Map<String, String> headers, Object body) {}

    /** The answer for an error, in the error shape of the API it happened on. */
    public static Answer answer(ApiFamily family, FactoryException e, int status) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (e instanceof QuotaExceededException q) {
            headers.putAll(RateLimitHeaders.refusal(family, q));
        } else if (e.code() == ErrorCode.RATE_LIMITED || e.code() == ErrorCode.UNAVAILABLE) {
            headers.put("Retry-After", "1");
        }
        if (family == ApiFamily.BEDROCK) {
            BedrockErrors.Type type = BedrockErrors.type(e);
            headers.put("x-amzn-ErrorType", type.name());
            return new Answer(status == e.code().httpStatus() ? type.status() : status, headers,
                    Map.of("message", e.getMessage()));
        }
        if (family == ApiFamily.OPENAI) {
            return new Answer(status, headers, OpenAiErrors.error(e));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", e.code().name().toLowerCase(Locale.ROOT));
        body.put("message", e.getMessage());
        if (e.param() != null) {
            body.put("param", e.param());
        }
        return new Answer(status, headers, Map.of("error", body));
    }

    static ErrorCode codeFor(int status) {
        return switch (status) {
            case 401 -> ErrorCode.UNAUTHENTICATED;
            case 403 -> ErrorCode.FORBIDDEN;
            case 404 -> ErrorCode.NOT_FOUND;
            case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
            case 409 -> ErrorCode.CONFLICT;
            case 411 -> ErrorCode.LENGTH_REQUIRED;
            case 413 -> ErrorCode.PAYLOAD_TOO_LARGE;
            case 415 -> ErrorCode.UNSUPPORTED_MEDIA_TYPE;
            case 429 -> ErrorCode.RATE_LIMITED;
            case 503 -> ErrorCode.UNAVAILABLE;
            case 507 -> ErrorCode.INSUFFICIENT_STORAGE;
            default -> status >= 500 ? ErrorCode.INTERNAL : ErrorCode.INVALID_REQUEST;
        };
    }
}
