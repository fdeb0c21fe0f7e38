package ai.factory.storage;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static java.util.Objects.requireNonNull;

/**
 * Content-addressed blobs in local files: {@code <root>/sha256/<first two hex>/<64 hex>}.
 *
 * <p>Durability invariant: a blob file is visible only with its complete, verified content.
 * Content is streamed into {@code <root>/tmp/}, hashed on the way, fsynced, checked against the
 * expected digest and then renamed into place atomically, and the directory is fsynced. A
 * process killed mid-import leaves only a temporary file, which the next store on the same root
 * deletes when it is constructed; so at most one {@code BlobStore} (one process) may use a root.
 *
 * <p>Thread-safe: the store has no mutable state of its own. Two imports of the same content
 * both rename a complete file onto the same name, so either order ends with one correct blob.
 * Deleting a blob while something imports or reads it is the caller's to coordinate (the
 * registry decides which blobs are garbage).
 */
public final class BlobStore {
    private static final Logger LOG = LoggerFactory.getLogger(BlobStore.class);
    private static final int BUFFER_SIZE = 256 * 1024;

    private final Path root;
    private final Path blobs;
    private final Path tmp;

    /** Creates the folders under {@code root} if needed and removes temporary files left by a killed import. */
    public BlobStore(Path root) {
        this.root = requireNonNull(root, "root is null");
        this.blobs = root.resolve("sha256");
        this.tmp = root.resolve("tmp");
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(tmp);
            removeLeftovers();
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot prepare the blob store at %s: %s".formatted(root, e), e);
        }
    }

    public Path root() {
        return root;
    }

    /**
     * Streams {@code in} into a new temporary file, hashing it on the way, and fsyncs the file.
     * Does not close {@code in}. On any failure the temporary file is gone when this returns.
     *
     * @throws FactoryException {@link ErrorCode#PAYLOAD_TOO_LARGE} past {@code maxBytes};
     *         {@link ErrorCode#INVALID_REQUEST} if reading {@code in} fails (a client that
     *         disconnected mid-upload); {@link ErrorCode#INTERNAL} if the store can't write
     */
    public StagedBlob stage(InputStream in, long maxBytes) {
        requireNonNull(in, "in is null");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes is negative: " + maxBytes);
        }
        Path tempFile = createTempFile();
        try {
            return write(in, maxBytes, tempFile);
        }
        catch (RuntimeException | Error e) {
            deleteQuietly(tempFile, e);
            throw e;
        }
    }

    /**
     * Moves staged content into place as the blob named by its digest. With an
     * {@code expectedSha256} that differs, nothing is stored and the staged file is deleted. If
     * the blob already exists (imported before, or renamed by a process killed just after), it is
     * replaced by the staged file, whose content is known to match its name.
     *
     * @param expectedSha256 the digest the content must have, or null to accept any
     */
    public BlobRef commit(StagedBlob staged, String expectedSha256) {
        requireNonNull(staged, "staged is null");
        if (!tmp.equals(staged.tempFile().getParent())) {
            throw new IllegalArgumentException("staged blob %s was not staged by the store at %s".formatted(staged.tempFile(), root));
        }
        if (expectedSha256 != null && !expectedSha256.equals(staged.sha256())) {
            staged.close();
            Sha256.require(expectedSha256);
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "digest mismatch: expected sha256 %s got %s; nothing was stored".formatted(expectedSha256, staged.sha256()));
        }
        if (!Files.exists(staged.tempFile())) {
            throw new IllegalStateException("staged blob %s was already committed or closed".formatted(staged.sha256()));
        }
        Path target = path(staged.sha256());
        try {
            createShardDirectory(target.getParent());
            Files.move(staged.tempFile(), target, ATOMIC_MOVE, REPLACE_EXISTING);
            fsyncDirectory(target.getParent());
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot store blob %s in %s: %s".formatted(staged.sha256(), root, e), e);
        }
        return new BlobRef(staged.sha256(), staged.size());
    }

    /** Imports a local file in one pass, checking it against {@code expectedSha256} if not null. */
    public BlobRef put(Path source, String expectedSha256) {
        requireNonNull(source, "source is null");
        try (InputStream in = Files.newInputStream(source);
                StagedBlob staged = stage(in, Long.MAX_VALUE)) {
            return commit(staged, expectedSha256);
        }
        catch (NoSuchFileException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot import %s: no such file".formatted(source), e);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot import %s: %s".formatted(source, e), e);
        }
    }

    /** Imports everything {@code in} yields, with no size limit and no expected digest. Does not close {@code in}. */
    public BlobRef put(InputStream in) {
        try (StagedBlob staged = stage(in, Long.MAX_VALUE)) {
            return commit(staged, null);
        }
    }

    /**
     * Where the blob named {@code sha256} lives (whether or not it exists).
     *
     * @throws FactoryException {@link ErrorCode#INVALID_REQUEST} unless {@code sha256} is 64
     *         lowercase hex characters, so no argument can name a file outside the store
     */
    public Path path(String sha256) {
        Sha256.require(sha256);
        return blobs.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    public boolean exists(String sha256) {
        return Files.isRegularFile(path(sha256));
    }

    /** Opens the blob for reading; the caller closes the stream. */
    public InputStream open(String sha256) {
        Path path = path(sha256);
        try {
            return Files.newInputStream(path);
        }
        catch (NoSuchFileException e) {
            throw notFound(sha256, e);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read blob %s: %s".formatted(sha256, e), e);
        }
    }

    /** Deletes the blob; does nothing if it does not exist. */
    public void delete(String sha256) {
        Path path = path(sha256);
        try {
            Files.deleteIfExists(path);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot delete blob %s: %s".formatted(sha256, e), e);
        }
    }

    /**
     * Re-hashes the blob's file.
     *
     * @throws FactoryException {@link ErrorCode#INTERNAL} if the content no longer matches its name,
     *         {@link ErrorCode#NOT_FOUND} if there is no such blob
     */
    public BlobRef verify(String sha256) {
        Path path = path(sha256);
        MessageDigest digest = Sha256.newDigest();
        long size = 0;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE);
            while (channel.read(buffer) != -1) {
                buffer.flip();
                size += buffer.remaining();
                digest.update(buffer);
                buffer.clear();
            }
        }
        catch (NoSuchFileException e) {
            throw notFound(sha256, e);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read blob %s: %s".formatted(sha256, e), e);
        }
        String actual = Sha256.hex(digest);
        if (!actual.equals(sha256)) {
            throw new FactoryException(ErrorCode.INTERNAL, "blob %s is corrupt: its %d bytes hash to %s".formatted(sha256, size, actual));
        }
        return new BlobRef(sha256, size);
    }

    private StagedBlob write(InputStream in, long maxBytes, Path tempFile) {
        MessageDigest digest = Sha256.newDigest();
        byte[] buffer = new byte[BUFFER_SIZE];
        long size = 0;
        try (FileChannel channel = FileChannel.open(tempFile, StandardOpenOption.WRITE)) {
            while (true) {
                int read = read(in, buffer, size);
                if (read == -1) {
                    break;
                }
                size += read;
                if (size > maxBytes) {
                    throw new FactoryException(ErrorCode.PAYLOAD_TOO_LARGE, "content exceeds the limit of %d bytes".formatted(maxBytes));
                }
                digest.update(buffer, 0, read);
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, read);
                while (chunk.hasRemaining()) {
                    channel.write(chunk);
                }
            }
            // Durable before it can be renamed into place: a crash must never expose a blob whose
            // name promises content that never reached the disk.
            channel.force(true);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot write to the blob store at %s: %s".formatted(root, e), e);
        }
        return new StagedBlob(tempFile, Sha256.hex(digest), size);
    }

    /** Reads from the caller's stream, telling its failures (the client's) apart from the store's own. */
    private static int read(InputStream in, byte[] buffer, long sizeSoFar) {
        try {
            return in.read(buffer);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "upload interrupted after %d bytes, nothing was stored: %s".formatted(sizeSoFar, e), e);
        }
    }

    private Path createTempFile() {
        try {
            return Files.createTempFile(tmp, "import-", ".tmp");
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot create a temporary file in %s: %s".formatted(tmp, e), e);
        }
    }

    private void createShardDirectory(Path shard) throws IOException {
        if (!Files.isDirectory(shard)) {
            Files.createDirectories(shard);
            // The new directory's entry must be durable too, or the blob could vanish with it.
            fsyncDirectory(blobs);
        }
    }

    private static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    private void removeLeftovers() throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp)) {
            for (Path entry : entries) {
                if (Files.deleteIfExists(entry)) {
                    removed++;
                }
            }
        }
        if (removed > 0) {
            LOG.info("removed {} temporary files left by interrupted imports in {}", removed, tmp);
        }
    }

    private static void deleteQuietly(Path file, Throwable failure) {
        try {
            Files.deleteIfExists(file);
        }
        catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static FactoryException notFound(String sha256, Throwable cause) {
        return new FactoryException(ErrorCode.NOT_FOUND, "blob %s not found".formatted(sha256), cause);
    }
}
