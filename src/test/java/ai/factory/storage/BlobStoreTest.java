package ai.factory.storage;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlobStoreTest {
    // SHA-256 test vectors from FIPS 180-2, as sha256sum prints them.
    private static final String SHA256_OF_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private static final String SHA256_OF_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @TempDir
    Path root;

    private static final String OWNER = "alpha";

    @Test
    void storesContentEncryptedUnderItsOwnerAndDigestAndReadsItBack() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(3_000_000, 1);

        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream(content));
        BlobRef ref = stored.ref();

        assertThat(ref).isEqualTo(new BlobRef(sha256(content), content.length));
        assertThat(store.exists(OWNER, ref.sha256())).isTrue();
        assertThat(store.exists("beta", ref.sha256())).isFalse();
        assertThat(store.path(OWNER, ref.sha256())).isEqualTo(root.resolve("keyed").resolve(OWNER)
                .resolve(ref.sha256().substring(0, 2)).resolve(ref.sha256()));
        try (InputStream in = store.plaintext(OWNER, ref.sha256(), stored.key())) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
        assertThat(store.verify(OWNER, ref.sha256(), stored.key())).isEqualTo(ref);
        assertThat(tempFiles()).isEmpty();
    }

    @Test
    void theFileOnDiskHoldsNoPlaintext() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = ("GGUF" + "the quick brown fox jumps over the lazy dog ".repeat(50_000)).getBytes(StandardCharsets.US_ASCII);

        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream(content));

        byte[] onDisk = Files.readAllBytes(store.path(OWNER, stored.ref().sha256()));
        String asText = new String(onDisk, StandardCharsets.ISO_8859_1);
        assertThat(asText).doesNotContain("GGUF").doesNotContain("quick brown");
        // Tink's header (40 bytes) and a 16-byte tag per 1 MiB segment: 3 segments here.
        assertThat(onDisk.length).isEqualTo(content.length + 40 + 3 * 16);
        assertThat(sha256(onDisk)).isNotEqualTo(stored.ref().sha256());
    }

    @Test
    void streamsLargeContentThroughASmallBufferBothWaysAndReadsFromAnyOffset() throws IOException {
        BlobStore store = new BlobStore(root);
        long size = 40L * 1024 * 1024 + 12_345; // 41 segments, the last one partial
        MessageDigest expected = sha256Digest();

        // Generated as it is read: the test never holds the content, so neither may the store.
        StagedBlob staged = store.stage(OWNER, new GeneratedStream(size, expected), Long.MAX_VALUE);
        BlobRef ref = store.commit(staged, null);

        assertThat(ref).isEqualTo(new BlobRef(HexFormat.of().formatHex(expected.digest()), size));
        assertThat(Files.size(store.path(OWNER, ref.sha256()))).isGreaterThan(size);
        assertThat(store.verify(OWNER, ref.sha256(), staged.dataKey())).isEqualTo(ref);
        try (SeekableByteChannel plain = store.open(OWNER, ref.sha256(), staged.dataKey())) {
            assertThat(plain.size()).isEqualTo(size);
            long offset = 33L * 1024 * 1024 + 7;
            ByteBuffer some = ByteBuffer.allocate(4096);
            plain.position(offset).read(some);
            assertThat(some.array()).isEqualTo(GeneratedStream.bytesAt(offset, 4096));
        }
    }

    @Test
    void aTamperedSegmentIsAClearErrorAndTheOthersStillRead() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(3 * 1024 * 1024, 6);
        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream(content));
        Path file = store.path(OWNER, stored.ref().sha256());
        byte[] ciphertext = Files.readAllBytes(file);
        ciphertext[ciphertext.length / 2] ^= 0x10; // inside the second 1 MiB segment
        Files.write(file, ciphertext);

        try (SeekableByteChannel plain = store.open(OWNER, stored.ref().sha256(), stored.key())) {
            ByteBuffer first = ByteBuffer.allocate(1000);
            plain.read(first);
            assertThat(first.array()).isEqualTo(java.util.Arrays.copyOf(content, 1000));
            ByteBuffer second = ByteBuffer.allocate(1000);
            assertThatThrownBy(() -> plain.position(1_500_000).read(second))
                    .isInstanceOf(BlobAuthenticationException.class)
                    .hasMessageContaining("blob " + stored.ref().sha256() + " of " + OWNER + " fails authentication")
                    .hasMessageContaining("altered");
        }
        assertThatThrownBy(() -> store.verify(OWNER, stored.ref().sha256(), stored.key()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL))
                .hasMessageContaining("fails authentication");
    }

    @Test
    void anotherKeyOrAnotherOwnersFolderDoesNotDecrypt() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(10_000, 7);
        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream(content));
        String digest = stored.ref().sha256();

        assertThatThrownBy(() -> store.verify(OWNER, digest, DataKey.generate()))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not encrypted under this key");

        Path moved = store.path("beta", digest);
        Files.createDirectories(moved.getParent());
        Files.copy(store.path(OWNER, digest), moved);
        assertThatThrownBy(() -> store.verify("beta", digest, stored.key()))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not encrypted under this key");
    }

    @Test
    void digestIsTheOneSha256sumPrints() {
        BlobStore store = new BlobStore(root);

        assertThat(store.put(OWNER, new ByteArrayInputStream("abc".getBytes(StandardCharsets.US_ASCII))).ref())
                .isEqualTo(new BlobRef(SHA256_OF_ABC, 3));
        assertThat(store.put(OWNER, InputStream.nullInputStream()).ref()).isEqualTo(new BlobRef(SHA256_OF_EMPTY, 0));
    }

    @Test
    void digestMismatchStoresNothing() {
        BlobStore store = new BlobStore(root.resolve("store"));
        StagedBlob staged = store.stage(OWNER, new ByteArrayInputStream("abd".getBytes(StandardCharsets.US_ASCII)), 10);

        assertThatThrownBy(() -> store.commit(staged, SHA256_OF_ABC))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("digest mismatch: expected sha256 " + SHA256_OF_ABC + " got " + sha256("abd".getBytes(StandardCharsets.US_ASCII)));
        assertThat(filesUnder(root.resolve("store"))).isEmpty();
    }

    @Test
    void contentOverTheLimitIsRefusedAndLeavesNoTemporaryFile() {
        BlobStore store = new BlobStore(root);

        assertThatThrownBy(() -> store.stage(OWNER, new ByteArrayInputStream(new byte[1_000_001]), 1_000_000))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE))
                .hasMessageContaining("1000000 bytes");
        assertThat(filesUnder(root)).isEmpty();

        try (StagedBlob staged = store.stage(OWNER, new ByteArrayInputStream(new byte[1_000_000]), 1_000_000)) {
            assertThat(staged.size()).isEqualTo(1_000_000);
        }
        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void interruptedUploadLeavesNothing() {
        BlobStore store = new BlobStore(root);
        InputStream disconnecting = new FailingInputStream(500_000);

        assertThatThrownBy(() -> store.put(OWNER, disconnecting))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("upload interrupted after ")
                .hasRootCauseInstanceOf(IOException.class);
        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void stagedBlobClosedWithoutCommitLeavesNothing() {
        BlobStore store = new BlobStore(root);

        try (StagedBlob staged = store.stage(OWNER, new ByteArrayInputStream(new byte[10]), 10)) {
            assertThat(staged.tempFile()).exists().hasParent(root.resolve("tmp"));
        }

        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void removingStagingDeletesTemporaryFilesOfAKilledImportSoItCanBeRedone() throws IOException {
        byte[] content = randomBytes(200_000, 2);
        BlobStore killed = new BlobStore(root);
        // What a process killed mid-import leaves: a partial temporary file and no blob.
        StagedBlob abandoned = killed.stage(OWNER, new ByteArrayInputStream(content), Long.MAX_VALUE);
        Files.write(root.resolve("tmp").resolve("import-42.tmp"), new byte[1000]);
        assertThat(tempFiles()).hasSize(2);

        BlobStore restarted = new BlobStore(root);
        long bytes = Files.size(abandoned.tempFile()) + 1000;

        assertThat(restarted.removeStaging()).isEqualTo(new BlobStore.Removed(2, bytes));
        assertThat(tempFiles()).isEmpty();
        assertThat(restarted.exists(OWNER, abandoned.sha256())).isFalse();
        BlobStore.StoredBlob stored = restarted.put(OWNER, new ByteArrayInputStream(content));
        assertThat(restarted.verify(OWNER, stored.ref().sha256(), stored.key())).isEqualTo(new BlobRef(sha256(content), content.length));
    }

    @Test
    void aFileLeftWithoutItsKeyIsReplacedByTheNextImport() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(100_000, 3);
        String digest = sha256(content);
        // What a process killed after the rename but before recording the key leaves: a file nobody can read.
        Files.createDirectories(store.path(OWNER, digest).getParent());
        Files.write(store.path(OWNER, digest), new byte[500]);

        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream(content));

        assertThat(stored.ref()).isEqualTo(new BlobRef(digest, content.length));
        assertThat(filesUnder(root)).containsExactly(store.path(OWNER, digest));
        assertThat(store.verify(OWNER, digest, stored.key())).isEqualTo(stored.ref());
    }

    @Test
    void theSameContentOfTwoOwnersIsTwoFilesUnderTwoKeys() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(100_000, 8);

        BlobStore.StoredBlob a = store.put("alpha", new ByteArrayInputStream(content));
        BlobStore.StoredBlob b = store.put("beta", new ByteArrayInputStream(content));

        assertThat(a.ref()).isEqualTo(b.ref());
        assertThat(filesUnder(root)).containsExactlyInAnyOrder(store.path("alpha", a.ref().sha256()),
                store.path("beta", b.ref().sha256()));
        assertThat(store.deleteOwner("alpha")).isEqualTo(1);
        assertThat(store.exists("alpha", a.ref().sha256())).isFalse();
        assertThat(store.verify("beta", b.ref().sha256(), b.key())).isEqualTo(b.ref());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "../etc/passwd",
            "../../../../../../etc/passwd",
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad",
            ""})
    void rejectsAnythingButSixtyFourLowercaseHexDigits(String digest) {
        BlobStore store = new BlobStore(root);
        DataKey key = DataKey.generate();

        for (Runnable call : List.<Runnable>of(
                () -> store.path(OWNER, digest),
                () -> store.exists(OWNER, digest),
                () -> store.open(OWNER, digest, key),
                () -> store.delete(OWNER, digest),
                () -> store.verify(OWNER, digest, key),
                () -> store.legacyPath(digest))) {
            assertThatThrownBy(call::run)
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                    .hasMessageContaining("expected 64 lowercase hex characters");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../alpha", "Alpha", "a/b", "", "_other", "-x"})
    void rejectsOwnersThatAreNotProjectNamesOrTheSite(String owner) {
        BlobStore store = new BlobStore(root);

        assertThatThrownBy(() -> store.path(owner, SHA256_OF_ABC))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("invalid key owner");
        assertThatThrownBy(() -> store.stage(owner, InputStream.nullInputStream(), 10)).isInstanceOf(FactoryException.class);
        assertThat(store.path(BlobOwner.SITE, SHA256_OF_ABC)).startsWithRaw(root.resolve("keyed").resolve("_site"));
    }

    @Test
    void missingBlobIsNotFoundAndDeletingItIsHarmless() {
        BlobStore store = new BlobStore(root);
        BlobStore.StoredBlob stored = store.put(OWNER, new ByteArrayInputStream("abc".getBytes(StandardCharsets.US_ASCII)));
        String digest = stored.ref().sha256();

        store.delete(OWNER, digest);
        store.delete(OWNER, digest);

        assertThat(store.exists(OWNER, digest)).isFalse();
        assertThatThrownBy(() -> store.open(OWNER, digest, stored.key()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> store.verify(OWNER, digest, stored.key()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void stagedBlobCommitsOnlyOnce() {
        BlobStore store = new BlobStore(root);
        try (StagedBlob staged = store.stage(OWNER, new ByteArrayInputStream(new byte[10]), 10)) {
            store.commit(staged, null);

            assertThatThrownBy(() -> store.commit(staged, null))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already committed");
        }
        assertThat(tempFiles()).isEmpty();
    }

    @Test
    void listsAndDeletesLegacyPlainTextBlobs() throws IOException {
        BlobStore store = new BlobStore(root);
        Path legacy = store.legacyPath(SHA256_OF_ABC);
        Files.createDirectories(legacy.getParent());
        Files.writeString(legacy, "abc");

        assertThat(store.legacyDigests()).containsExactly(SHA256_OF_ABC);
        store.deleteLegacy(SHA256_OF_ABC);
        assertThat(store.legacyDigests()).isEmpty();
        assertThat(root.resolve("sha256")).doesNotExist();
    }

    private List<Path> tempFiles() {
        return filesUnder(root.resolve("tmp"));
    }

    private static List<Path> filesUnder(Path folder) {
        if (!Files.exists(folder)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).toList();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** {@code size} bytes whose value at offset i is a hash of i, made as they are read and hashed into {@code digest}. */
    private static final class GeneratedStream extends InputStream {
        private final long size;
        private final MessageDigest digest;
        private long position;

        GeneratedStream(long size, MessageDigest digest) {
            this.size = size;
            this.digest = digest;
        }

        static byte byteAt(long offset) {
            long x = offset * 0x9E3779B97F4A7C15L;
            return (byte) (x >>> 56 ^ x >>> 29);
        }

        static byte[] bytesAt(long offset, int count) {
            byte[] out = new byte[count];
            for (int i = 0; i < count; i++) {
                out[i] = byteAt(offset + i);
            }
            return out;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            if (position >= size) {
                return -1;
            }
            int n = (int) Math.min(length, size - position);
            for (int i = 0; i < n; i++) {
                buffer[offset + i] = byteAt(position + i);
            }
            digest.update(buffer, offset, n);
            position += n;
            return n;
        }
    }

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** A client that sends {@code before} bytes and then disconnects. */
    private static final class FailingInputStream extends InputStream {
        private final int before;
        private int sent;

        FailingInputStream(int before) {
            this.before = before;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (sent >= before) {
                throw new IOException("connection reset by peer");
            }
            int n = Math.min(length, before - sent);
            sent += n;
            return n;
        }
    }
}
