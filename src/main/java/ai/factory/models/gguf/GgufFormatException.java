package ai.factory.models.gguf;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;

/**
 * A file is not a well-formed GGUF model: wrong magic, unsupported version, a length or count
 * that runs past the end of the file, or a value no valid file contains. The message names the
 * offending entry and, where it helps, the byte offset, so an operator can tell a truncated
 * upload from a file that was never a model.
 */
public final class GgufFormatException extends FactoryException {
    public GgufFormatException(String message) {
        super(ErrorCode.INVALID_REQUEST, message);
    }
}
