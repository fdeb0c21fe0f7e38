package ai.factory.storage;

import java.io.IOException;

/**
 * A blob's ciphertext failed authentication while it was read: the file was altered (a flipped bit, a segment swapped
 * or cut off), or the key given is not the one it was encrypted under. Nothing of the failing segment was returned.
 */
public final class BlobAuthenticationException extends IOException {
    private static final long serialVersionUID = 1L;

    BlobAuthenticationException(String message, Throwable cause) {
        super(message, cause);
    }
}
