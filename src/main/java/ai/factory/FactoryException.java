package ai.factory;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

/**
 * The one exception the factory's components throw for failures a caller should see.
 * The message says what was wrong and, where it helps, what to do.
 */
public class FactoryException extends RuntimeException {
    private final ErrorCode code;
    private final @Nullable String param;
    private final boolean denial;

    public FactoryException(ErrorCode code, String message) {
        this(code, message, null, null);
    }

    public FactoryException(ErrorCode code, String message, @Nullable Throwable cause) {
        this(code, message, null, cause);
    }

    private FactoryException(ErrorCode code, String message, @Nullable String param, @Nullable Throwable cause) {
        this(code, message, param, cause, false);
    }

    private FactoryException(ErrorCode code, String message, @Nullable String param, @Nullable Throwable cause,
                             boolean denial) {
        super(requireNonNull(message, "message is null"), cause);
        this.code = requireNonNull(code, "code is null");
        this.param = param;
        this.denial = denial;
    }

    /** Never null: every FactoryException is made with a message. */
    @Override
    public String getMessage() {
        return requireNonNull(super.getMessage());
    }

    /**
     * This very error (code, field, message), as the answer to an authorization refusal that must not say more than
     * it does: a resource of another project is answered as a missing one would be, and only the audit learns that it
     * was a refusal ({@link #isDenial()}).
     */
    public FactoryException asDenial() {
        return new FactoryException(code, getMessage(), param, getCause(), true);
    }

    /** Whether the error answers an authorization refusal: FORBIDDEN, or an error standing in for one. */
    public boolean isDenial() {
        return denial || code == ErrorCode.FORBIDDEN;
    }

    /** An invalid-request error that names the offending request field. */
    public static FactoryException invalidParam(String param, String message) {
        return new FactoryException(ErrorCode.INVALID_REQUEST, message, requireNonNull(param, "param is null"), null);
    }

    /** An error about one request field (a NOT_FOUND naming the id that was looked up, say). */
    public static FactoryException about(ErrorCode code, String param, String message) {
        return new FactoryException(code, message, requireNonNull(param, "param is null"), null);
    }

    /**
     * An authentication failure that names which part of the credentials is at fault ({@code "credential"}
     * for an unknown key, {@code "signature"} for one that does not match, {@code "authorization"} for a
     * malformed header), so an API whose clients tell these apart (AWS) can answer with the right type.
     */
    public static FactoryException unauthenticated(String part, String message) {
        return new FactoryException(ErrorCode.UNAUTHENTICATED, message, requireNonNull(part, "part is null"), null);
    }

    public ErrorCode code() {
        return code;
    }

    /** The request field (or credential part) the error is about, or null. */
    public @Nullable String param() {
        return param;
    }
}
