package ai.factory.storage;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static java.util.Objects.requireNonNull;

/**
 * Encrypted, content-addressed blobs in local files: {@code <root>/keyed/<owner>/<first two hex>/<64 hex>}, where the
 * name is the SHA-256 of the plaintext (the digest users see and verify) and the file holds that plaintext encrypted
 * under the blob's own {@link DataKey} in Tink's streaming format (1 MiB AES-256-GCM segments). The owner (a project,
 * or {@link BlobOwner#SITE}) is part of the address: identical content in two projects is stored twice, each copy
 * under its own project's keys, so destroying one project's keys leaves the other's copy readable.
 *
 * <p>Durability invariant: a blob file is visible only with its complete content. Content is streamed into
 * {@code <root>/tmp/}, hashed and encrypted on the way, fsynced, checked against the expected digest and then renamed
 * into place atomically, and the directory is fsynced. A process killed mid-import leaves a temporary file, and one
 * killed between the rename and the caller's record of the blob leaves a file nobody can read (its key was never
 * recorded): {@link BlobSweep} removes both at the next start, before anything else uses the store, so at most one
 * {@code BlobStore} (one process) may use a root. The store keeps no keys: the caller keeps each blob's data key (wrapped) and hands it back
 * to read.
 *
 * <p>Blobs written before encryption existed lie in plain text at {@code <root>/sha256/ab/abcd…}; {@link
 * #legacyDigests()} lists them so they can be encrypted and removed.
 *
 * <p>Thread-safe: the store has no mutable state of its own. Deleting a blob while something imports or reads it is
 * the caller's to coordinate (the registry decides which blobs are garbage).
 */
public final class BlobStore {
    private static final Logger LOG = LoggerFactory.getLogger(BlobStore.class);
    private static final int BUFFER_SIZE = 1024 * 1024;
    /** Space kept free beyond an upload's own, for the database and the audit records beside the store. */
    private static final long SPACE_MARGIN = 8L << 20;

    private final Path root;
    private final Path keyed;
    private final Path legacy;
    private final Path tmp;

    /** Creates the folders under {@code root} if needed. */
    public BlobStore(Path root) {
        this.root = requireNonNull(root, "root is null");
        this.keyed = root.resolve("keyed");
        this.legacy = root.resolve("sha256");
        this.tmp = root.resolve("tmp");
        try {
            PrivateFiles.createDirectories(keyed);
            PrivateFiles.createDirectories(tmp);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot prepare the blob store at %s: %s".formatted(root, e), e);
        }
    }

    public Path root() {
        return root;
    }

    /**
     * Streams {@code in} into a new temporary file, hashing the plaintext and encrypting it under a fresh data key on
     * the way, and fsyncs the file. Does not close {@code in}. On any failure the temporary file is gone when this
     * returns.
     *
     * @throws FactoryException {@link ErrorCode#PAYLOAD_TOO_LARGE} past {@code maxBytes};
     *         {@link ErrorCode#INVALID_REQUEST} if reading {@code in} fails (a client that
     *         disconnected mid-upload); {@link ErrorCode#INTERNAL} if the store can't write
     */
    public StagedBlob stage(String owner, InputStream in, long maxBytes) {
        BlobOwner.require(owner);
        requireNonNull(in, "in is null");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes is negative: " + maxBytes);
        }
        Path tempFile = createTempFile();
        try {
            return write(owner, in, maxBytes, tempFile, DataKey.generate());
        }
        catch (DiskFull e) {
            deleteQuietly(tempFile, e);
            throw diskFull(e.written, e.getCause());
        }
        catch (RuntimeException | Error e) {
            deleteQuietly(tempFile, e);
            throw e;
        }
    }

    /**
     * Refuses, before anything is written, content of {@code plainBytes} that can't fit on the store's volume
     * (ciphertext adds a little per 1 MiB segment, and a margin is kept for the database beside it).
     *
     * @throws FactoryException {@link ErrorCode#INSUFFICIENT_STORAGE} naming what is needed and what is free
     */
    public void requireSpace(long plainBytes) {
        long needed = plainBytes + (plainBytes >> 16) + SPACE_MARGIN;
        long free = usableSpace();
        if (free >= 0 && free < needed) {
            LOG.warn("refused {} bytes: the blob store at {} has {} bytes free", plainBytes, root, free);
            throw new FactoryException(ErrorCode.INSUFFICIENT_STORAGE, ("not enough disk space for %s: the factory's "
                    + "store has %s free; nothing was stored. Free space on its volume, or move the factory home to a "
                    + "larger one").formatted(bytes(plainBytes), bytes(free)));
        }
    }

    /** Bytes free to this process on the store's volume, or -1 when the file system can't say. */
    public long usableSpace() {
        try {
            return Files.getFileStore(root).getUsableSpace();
        }
        catch (IOException e) {
            return -1;
        }
    }

    private FactoryException diskFull(long written, @Nullable Throwable cause) {
        long free = usableSpace();
        LOG.warn("the blob store at {} ran out of disk space after {} bytes ({}); {} bytes free after cleaning up",
                root, written, cause == null ? "no cause given" : cause.getMessage(), free);
        return new FactoryException(ErrorCode.INSUFFICIENT_STORAGE, ("the factory's store ran out of disk space after "
                + "%s of the content; nothing was stored and the partial file is gone (%s free now). Free space on "
                + "its volume, or move the factory home to a larger one").formatted(bytes(written), bytes(free)), cause);
    }

    private static String bytes(long n) {
        return n < 0 ? "an unknown amount" : n < 1 << 20 ? n + " bytes" : "%.1f MiB (%d bytes)".formatted(n / 1048576.0, n);
    }

    /** Whether a write failed because the volume (or the user's quota on it) is full. */
    static boolean isDiskFull(IOException e) {
        String m = String.valueOf(e.getMessage());
        return m.contains("No space left on device") || m.contains("Disk quota exceeded");
    }

    /** A write that hit a full disk, with how much had been written; {@link #stage} turns it into the API's 507. */
    private static final class DiskFull extends RuntimeException {
        private final long written;

        DiskFull(long written, IOException cause) {
            super(cause.getMessage(), cause, false, false);
            this.written = written;
        }
    }

    /**
     * Moves staged content into place as the owner's blob named by its digest. With an {@code expectedSha256} that
     * differs, nothing is stored and the staged file is deleted. An existing file of that name is replaced (left by a
     * process killed before it recorded the blob's key, it can't be read anyway).
     *
     * @param expectedSha256 the digest the content must have, or null to accept any
     */
    public BlobRef commit(StagedBlob staged, @Nullable String expectedSha256) {
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
        Path target = path(staged.owner(), staged.sha256());
        try {
            createShardDirectory(requireNonNull(target.getParent(), "no parent folder"));
            Files.move(staged.tempFile(), target, ATOMIC_MOVE, REPLACE_EXISTING);
            fsyncDirectory(requireNonNull(target.getParent(), "no parent folder"));
        }
        catch (IOException e) {
            if (isDiskFull(e)) {
                throw diskFull(staged.size(), e);
            }
            throw new FactoryException(ErrorCode.INTERNAL, "cannot store blob %s in %s: %s".formatted(staged.sha256(), root, e), e);
        }
        return new BlobRef(staged.sha256(), staged.size());
    }

    /** A committed blob and the key it is encrypted under. */
    public record StoredBlob(BlobRef ref, DataKey key) {
        public StoredBlob {
            requireNonNull(ref, "ref is null");
            requireNonNull(key, "key is null");
        }
    }

    /** Stores everything {@code in} yields for {@code owner}, with no size limit and no expected digest. Does not close {@code in}. */
    public StoredBlob put(String owner, InputStream in) {
        try (StagedBlob staged = stage(owner, in, Long.MAX_VALUE)) {
            return new StoredBlob(commit(staged, null), staged.dataKey());
        }
    }

    /**
     * Where the owner's blob named {@code sha256} lives (whether or not it exists).
     *
     * @throws FactoryException {@link ErrorCode#INVALID_REQUEST} unless {@code sha256} is 64 lowercase hex characters
     *         and the owner a valid owner name, so no argument can name a file outside the store
     */
    public Path path(String owner, String sha256) {
        return pathIn(root, owner, sha256);
    }

    /**
     * Where the owner's blob named {@code sha256} lives in the store at {@code root}, as {@link #path} says, without
     * opening the store (which prepares its folders): for a store mounted read-only, another node's.
     */
    public static Path pathIn(Path root, String owner, String sha256) {
        BlobOwner.require(owner);
        Sha256.require(sha256);
        return root.resolve("keyed").resolve(owner).resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    public boolean exists(String owner, String sha256) {
        return Files.isRegularFile(path(owner, sha256));
    }

    /**
     * The blob's plaintext as a seekable channel: each 1 MiB segment is decrypted and authenticated as it is read,
     * so any part can be read without the rest. A segment that fails authentication (the file was altered, or
     * {@code key} is not the blob's) is a {@link BlobAuthenticationException}. The caller closes the channel.
     */
    public SeekableByteChannel open(String owner, String sha256, DataKey key) {
        requireNonNull(key, "key is null");
        Path path = path(owner, sha256);
        FileChannel ciphertext;
        try {
            ciphertext = FileChannel.open(path, StandardOpenOption.READ);
        }
        catch (NoSuchFileException e) {
            throw notFound(owner, sha256, e);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read blob %s: %s".formatted(sha256, e), e);
        }
        try {
            return new DecryptingChannel(key.streamingAead().newSeekableDecryptingChannel(ciphertext, associatedData(owner)),
                    owner, sha256);
        }
        catch (BlobAuthenticationException e) {
            closeQuietly(ciphertext, e);
            throw new FactoryException(ErrorCode.INTERNAL, String.valueOf(e.getMessage()), e);
        }
        catch (GeneralSecurityException | IOException e) {
            closeQuietly(ciphertext, e);
            throw new FactoryException(ErrorCode.INTERNAL, "blob %s of %s cannot be decrypted: %s (altered, or not encrypted under this key)"
                    .formatted(sha256, owner, e.getMessage()), e);
        }
    }

    /** The blob's plaintext as a stream; the caller closes it. */
    public InputStream plaintext(String owner, String sha256, DataKey key) {
        return Channels.newInputStream(open(owner, sha256, key));
    }

    /** Deletes the blob; does nothing if it does not exist. */
    public void delete(String owner, String sha256) {
        Path path = path(owner, sha256);
        try {
            Files.deleteIfExists(path);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot delete blob %s: %s".formatted(sha256, e), e);
        }
    }

    /**
     * Deletes every blob file of an owner (a deleted project's, whose keys are destroyed: what is left can't be read
     * anyway). Returns how many files went.
     */
    public int deleteOwner(String owner) {
        Path dir = keyed.resolve(BlobOwner.require(owner));
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            List<Path> all = paths.sorted(java.util.Comparator.reverseOrder()).toList();
            int files = 0;
            for (Path p : all) {
                if (Files.isRegularFile(p)) {
                    files++;
                }
                Files.deleteIfExists(p);
            }
            return files;
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot delete the blobs of %s: %s".formatted(owner, e), e);
        }
    }

    /**
     * Decrypts the whole blob and re-hashes its plaintext.
     *
     * @throws FactoryException {@link ErrorCode#INTERNAL} if the content no longer matches its name or fails
     *         authentication, {@link ErrorCode#NOT_FOUND} if there is no such blob
     */
    public BlobRef verify(String owner, String sha256, DataKey key) {
        MessageDigest digest = Sha256.newDigest();
        long size = 0;
        try (SeekableByteChannel channel = open(owner, sha256, key)) {
            ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE);
            while (channel.read(buffer) != -1) {
                buffer.flip();
                size += buffer.remaining();
                digest.update(buffer);
                buffer.clear();
            }
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read blob %s: %s".formatted(sha256, e.getMessage()), e);
        }
        String actual = Sha256.hex(digest);
        if (!actual.equals(sha256)) {
            throw new FactoryException(ErrorCode.INTERNAL, "blob %s is corrupt: its %d bytes hash to %s".formatted(sha256, size, actual));
        }
        return new BlobRef(sha256, size);
    }

    /** How many files a clean-up removed and how many bytes they held. */
    public record Removed(int files, long bytes) {
        public static final Removed NONE = new Removed(0, 0);

        public Removed plus(long fileBytes) {
            return new Removed(files + 1, bytes + fileBytes);
        }
    }

    /**
     * Deletes the temporary files of imports that never finished (the process was killed while it staged them).
     * Only safe while nothing stages: at start, before the store is used.
     */
    public Removed removeStaging() {
        Removed removed = Removed.NONE;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp)) {
            for (Path entry : entries) {
                long size = sizeOrZero(entry);
                if (Files.deleteIfExists(entry)) {
                    removed = removed.plus(size);
                }
            }
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot clear the staging folder %s: %s".formatted(tmp, e), e);
        }
        return removed;
    }

    /** A blob file on disk: whose, which, and how large (ciphertext). */
    public record StoredFile(String owner, String sha256, long bytes) {}

    /**
     * Every blob file under the store, read from the disk alone; names that are not blobs (no valid owner or digest)
     * are left out, and left alone.
     */
    public List<StoredFile> storedFiles() {
        List<StoredFile> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(keyed, 3)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                Path rel = keyed.relativize(f);
                String sha256 = f.getFileName().toString();
                if (rel.getNameCount() == 3 && BlobOwner.isValid(rel.getName(0).toString()) && Sha256.isDigest(sha256)
                        && rel.getName(1).toString().equals(sha256.substring(0, 2))) {
                    out.add(new StoredFile(rel.getName(0).toString(), sha256, sizeOrZero(f)));
                }
            });
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot list the blob store at %s: %s".formatted(keyed, e), e);
        }
        return out;
    }

    /** The size on disk (ciphertext) of the owner's blob, or 0 when there is none. */
    public long storedSize(String owner, String sha256) {
        return sizeOrZero(path(owner, sha256));
    }

    private static long sizeOrZero(Path file) {
        try {
            return Files.size(file);
        }
        catch (IOException e) {
            return 0;
        }
    }

    /** Where a plain-text blob written before encryption lies (whether or not it exists). */
    public Path legacyPath(String sha256) {
        Sha256.require(sha256);
        return legacy.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    /** The digests of the plain-text blobs left from before encryption. */
    public List<String> legacyDigests() {
        if (!Files.isDirectory(legacy)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(legacy, 2)) {
            files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).filter(Sha256::isDigest).forEach(out::add);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot list %s: %s".formatted(legacy, e), e);
        }
        return out;
    }

    /** Deletes a legacy plain-text blob, and the legacy folders once empty. */
    public void deleteLegacy(String sha256) {
        try {
            Path file = legacyPath(sha256);
            Files.deleteIfExists(file);
            deleteIfEmpty(requireNonNull(file.getParent(), "no parent folder"));
            deleteIfEmpty(legacy);
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot delete legacy blob %s: %s".formatted(sha256, e), e);
        }
    }

    private static void deleteIfEmpty(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                if (entries.iterator().hasNext()) {
                    return;
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private StagedBlob write(String owner, InputStream in, long maxBytes, Path tempFile, DataKey key) {
        MessageDigest digest = Sha256.newDigest();
        byte[] buffer = new byte[BUFFER_SIZE];
        long size = 0;
        try {
            try (OutputStream file = Files.newOutputStream(tempFile, StandardOpenOption.WRITE);
                    OutputStream encrypting = key.streamingAead().newEncryptingStream(file, associatedData(owner))) {
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
                    encrypting.write(buffer, 0, read);
                }
            }
            // Durable before it can be renamed into place: a crash must never expose a blob whose
            // name promises content that never reached the disk. fsync applies to the file, whichever descriptor asks.
            try (FileChannel channel = FileChannel.open(tempFile, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM-HKDF streaming is part of Tink", e);
        }
        catch (IOException e) {
            if (isDiskFull(e)) {
                throw new DiskFull(size, e);
            }
            throw new FactoryException(ErrorCode.INTERNAL, "cannot write to the blob store at %s: %s".formatted(root, e), e);
        }
        return new StagedBlob(this, tempFile, owner, Sha256.hex(digest), size, key);
    }

    /** Binds a blob's ciphertext to its owner: a file moved under another owner's folder does not decrypt. */
    static byte[] associatedData(String owner) {
        return ("factory-blob:" + owner).getBytes(StandardCharsets.UTF_8);
    }

    /** The plaintext of a staged blob, for checking it before it is committed. */
    SeekableByteChannel openStaged(StagedBlob staged) throws IOException {
        FileChannel ciphertext = FileChannel.open(staged.tempFile(), StandardOpenOption.READ);
        try {
            return new DecryptingChannel(staged.dataKey().streamingAead().newSeekableDecryptingChannel(ciphertext,
                    associatedData(staged.owner())), staged.owner(), staged.sha256());
        }
        catch (GeneralSecurityException | IOException e) {
            ciphertext.close();
            throw new IOException("cannot decrypt the staged file: " + e.getMessage(), e);
        }
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
            return Files.createTempFile(tmp, "import-", ".tmp", PrivateFiles.fileAttribute());
        }
        catch (IOException e) {
            if (isDiskFull(e)) {
                throw diskFull(0, e);
            }
            throw new FactoryException(ErrorCode.INTERNAL, "cannot create a temporary file in %s: %s".formatted(tmp, e), e);
        }
    }

    private void createShardDirectory(Path shard) throws IOException {
        if (!Files.isDirectory(shard)) {
            PrivateFiles.createDirectories(shard);
            // The new directories' entries must be durable too, or the blob could vanish with them.
            fsyncDirectory(requireNonNull(shard.getParent(), "no parent folder"));
            fsyncDirectory(keyed);
        }
    }

    private static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
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

    private static void closeQuietly(FileChannel channel, Throwable failure) {
        try {
            channel.close();
        }
        catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static FactoryException notFound(String owner, String sha256, Throwable cause) {
        return new FactoryException(ErrorCode.NOT_FOUND, "blob %s of %s not found".formatted(sha256, owner), cause);
    }
}
