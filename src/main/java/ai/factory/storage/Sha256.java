package ai.factory.storage;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** SHA-256 digests as the blob store names them: 64 lowercase hex characters. */
public final class Sha256 {
    private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{64}");

    private Sha256() {}

    /**
     * Returns {@code digest} if it is 64 lowercase hex characters. Blob paths are built from
     * digests, so this check is also what keeps a caller's string from naming any other file.
     */
    public static String require(String digest) {
        if (digest == null || !DIGEST.matcher(digest).matches()) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "invalid sha256 digest '%s': expected 64 lowercase hex characters".formatted(abbreviate(digest)));
        }
        return digest;
    }

    static boolean isDigest(String value) {
        return value != null && DIGEST.matcher(value).matches();
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256.
            throw new AssertionError(e);
        }
    }

    static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The SHA-256 of {@code bytes}, in lower-case hexadecimal. */
    public static String hex(byte[] bytes) {
        MessageDigest digest = newDigest();
        digest.update(bytes);
        return hex(digest);
    }

    private static @Nullable String abbreviate(String value) {
        if (value == null) {
            return null;
        }
        return value.length() <= 100 ? value : value.substring(0, 100) + "…";
    }
}
