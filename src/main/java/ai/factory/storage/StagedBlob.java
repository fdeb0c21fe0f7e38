package ai.factory.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.util.Objects.requireNonNull;

/**
 * Content written and fsynced to a temporary file of a {@link BlobStore}, with the digest and
 * size computed while it was written, waiting for {@link BlobStore#commit}.
 *
 * <p>Only the store creates these, so the digest always describes the file. Closing deletes the
 * temporary file unless it was committed (a commit moves it away, leaving nothing to delete), so
 * try-with-resources around stage and commit never leaves a temporary file behind.
 */
public final class StagedBlob implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StagedBlob.class);

    private final Path tempFile;
    private final String sha256;
    private final long size;

    StagedBlob(Path tempFile, String sha256, long size) {
        this.tempFile = requireNonNull(tempFile, "tempFile is null");
        this.sha256 = Sha256.require(sha256);
        if (size < 0) {
            throw new IllegalArgumentException("size is negative: " + size);
        }
        this.size = size;
    }

    public Path tempFile() {
        return tempFile;
    }

    public String sha256() {
        return sha256;
    }

    public long size() {
        return size;
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(tempFile);
        }
        catch (IOException e) {
            // Not fatal: the store removes leftover temporary files when it next starts.
            LOG.warn("cannot delete temporary blob file {}: {}", tempFile, e.toString());
        }
    }

    @Override
    public String toString() {
        return "StagedBlob[sha256=%s, size=%d, tempFile=%s]".formatted(sha256, size, tempFile);
    }
}
