package ai.factory.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.util.Objects.requireNonNull;

/**
 * Content encrypted, written and fsynced to a temporary file of a {@link BlobStore}, with the plaintext's digest and
 * size computed while it was written and the data key it is encrypted under, waiting for {@link BlobStore#commit}.
 *
 * <p>Only the store creates these, so the digest always describes the file. Closing deletes the
 * temporary file unless it was committed (a commit moves it away, leaving nothing to delete), so
 * try-with-resources around stage and commit never leaves a temporary file behind.
 */
public final class StagedBlob implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StagedBlob.class);

    private final BlobStore store;
    private final Path tempFile;
    private final String owner;
    private final String sha256;
    private final long size;
    private final DataKey dataKey;

    StagedBlob(BlobStore store, Path tempFile, String owner, String sha256, long size, DataKey dataKey) {
        this.store = requireNonNull(store, "store is null");
        this.tempFile = requireNonNull(tempFile, "tempFile is null");
        this.owner = BlobOwner.require(owner);
        this.sha256 = Sha256.require(sha256);
        if (size < 0) {
            throw new IllegalArgumentException("size is negative: " + size);
        }
        this.size = size;
        this.dataKey = requireNonNull(dataKey, "dataKey is null");
    }

    public Path tempFile() {
        return tempFile;
    }

    public String owner() {
        return owner;
    }

    public String sha256() {
        return sha256;
    }

    public long size() {
        return size;
    }

    /** The key the content is encrypted under; the caller wraps and records it when it records the blob. */
    public DataKey dataKey() {
        return dataKey;
    }

    /** The staged plaintext, decrypted as it is read (e.g. to read a model's header before committing it). */
    public SeekableByteChannel open() throws IOException {
        return store.openStaged(this);
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
        return "StagedBlob[owner=%s, sha256=%s, size=%d, tempFile=%s]".formatted(owner, sha256, size, tempFile);
    }
}
