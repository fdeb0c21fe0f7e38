package ai.factory.storage;

/**
 * A blob stored in the {@link BlobStore}, named by the SHA-256 of its content.
 *
 * @param sha256 64 lowercase hex characters
 * @param size length in bytes
 */
public record BlobRef(String sha256, long size) {
    public BlobRef {
        Sha256.require(sha256);
        if (size < 0) {
            throw new IllegalArgumentException("size is negative: " + size);
        }
    }
}
