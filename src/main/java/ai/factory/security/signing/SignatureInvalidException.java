package ai.factory.security.signing;

/** A model signature that does not verify, and why, in words a person can act on. */
public final class SignatureInvalidException extends RuntimeException {
    public SignatureInvalidException(String message) {
        super(message);
    }

    public SignatureInvalidException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Never null: every one is made with a message. */
    @Override
    public String getMessage() {
        return java.util.Objects.requireNonNull(super.getMessage());
    }
}
