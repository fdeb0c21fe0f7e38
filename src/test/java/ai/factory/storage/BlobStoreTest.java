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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlobStoreTest {
    // SHA-256 test vectors from FIPS 180-2, as sha256sum prints them.
    private static final String SHA256_OF_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private static final String SHA256_OF_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @TempDir
    Path root;

    @Test
    void storesContentUnderItsDigestAndReadsItBack() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(300_000, 1);

        BlobRef ref = store.put(new ByteArrayInputStream(content));

        assertThat(ref).isEqualTo(new BlobRef(sha256(content), content.length));
        assertThat(store.exists(ref.sha256())).isTrue();
        assertThat(store.path(ref.sha256())).isEqualTo(root.resolve("sha256").resolve(ref.sha256().substring(0, 2)).resolve(ref.sha256()));
        try (InputStream in = store.open(ref.sha256())) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
        assertThat(store.verify(ref.sha256())).isEqualTo(ref);
        assertThat(tempFiles()).isEmpty();
    }

    @Test
    void digestIsTheOneSha256sumPrints() {
        BlobStore store = new BlobStore(root);

        assertThat(store.put(new ByteArrayInputStream("abc".getBytes(StandardCharsets.US_ASCII)))).isEqualTo(new BlobRef(SHA256_OF_ABC, 3));
        assertThat(store.put(InputStream.nullInputStream())).isEqualTo(new BlobRef(SHA256_OF_EMPTY, 0));
    }

    @Test
    void importsAFileCheckedAgainstItsExpectedDigest() throws IOException {
        BlobStore store = new BlobStore(root.resolve("store"));
        Path source = Files.write(root.resolve("abc.txt"), "abc".getBytes(StandardCharsets.US_ASCII));

        assertThat(store.put(source, SHA256_OF_ABC)).isEqualTo(new BlobRef(SHA256_OF_ABC, 3));
        assertThat(source).exists();
    }

    @Test
    void digestMismatchStoresNothing() throws IOException {
        BlobStore store = new BlobStore(root.resolve("store"));
        Path source = Files.write(root.resolve("abc.txt"), "abd".getBytes(StandardCharsets.US_ASCII));

        assertThatThrownBy(() -> store.put(source, SHA256_OF_ABC))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("digest mismatch: expected sha256 " + SHA256_OF_ABC + " got " + sha256("abd".getBytes(StandardCharsets.US_ASCII)));
        assertThat(filesUnder(root.resolve("store"))).isEmpty();
    }

    @Test
    void contentOverTheLimitIsRefusedAndLeavesNoTemporaryFile() {
        BlobStore store = new BlobStore(root);

        assertThatThrownBy(() -> store.stage(new ByteArrayInputStream(new byte[1_000_001]), 1_000_000))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE))
                .hasMessageContaining("1000000 bytes");
        assertThat(filesUnder(root)).isEmpty();

        try (StagedBlob staged = store.stage(new ByteArrayInputStream(new byte[1_000_000]), 1_000_000)) {
            assertThat(staged.size()).isEqualTo(1_000_000);
        }
        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void interruptedUploadLeavesNothing() {
        BlobStore store = new BlobStore(root);
        InputStream disconnecting = new FailingInputStream(500_000);

        assertThatThrownBy(() -> store.put(disconnecting))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("upload interrupted after ")
                .hasRootCauseInstanceOf(IOException.class);
        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void stagedBlobClosedWithoutCommitLeavesNothing() {
        BlobStore store = new BlobStore(root);

        try (StagedBlob staged = store.stage(new ByteArrayInputStream(new byte[10]), 10)) {
            assertThat(staged.tempFile()).exists().hasParent(root.resolve("tmp"));
        }

        assertThat(filesUnder(root)).isEmpty();
    }

    @Test
    void startingRemovesTemporaryFilesOfAKilledImportSoItCanBeRedone() throws IOException {
        byte[] content = randomBytes(200_000, 2);
        BlobStore killed = new BlobStore(root);
        // What a process killed mid-import leaves: a partial temporary file and no blob.
        StagedBlob abandoned = killed.stage(new ByteArrayInputStream(content), Long.MAX_VALUE);
        Files.write(root.resolve("tmp").resolve("import-42.tmp"), new byte[1000]);
        assertThat(tempFiles()).hasSize(2);

        BlobStore restarted = new BlobStore(root);

        assertThat(tempFiles()).isEmpty();
        assertThat(restarted.exists(abandoned.sha256())).isFalse();
        BlobRef ref = restarted.put(new ByteArrayInputStream(content));
        assertThat(restarted.verify(ref.sha256())).isEqualTo(new BlobRef(sha256(content), content.length));
    }

    @Test
    void blobRenamedInPlaceBeforeAKillIsReplacedByTheSameContent() throws IOException {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(100_000, 3);
        String digest = sha256(content);
        Files.createDirectories(store.path(digest).getParent());
        Files.write(store.path(digest), content);

        BlobRef ref = store.put(new ByteArrayInputStream(content));

        assertThat(ref).isEqualTo(new BlobRef(digest, content.length));
        assertThat(filesUnder(root)).containsExactly(store.path(digest));
        assertThat(store.verify(digest)).isEqualTo(ref);
    }

    @Test
    void concurrentImportsOfTheSameContentEndWithOneBlob() throws Exception {
        BlobStore store = new BlobStore(root);
        byte[] content = randomBytes(8 * 1024 * 1024, 4);
        int threads = 4;
        CyclicBarrier start = new CyclicBarrier(threads);

        List<BlobRef> refs;
        try (ExecutorService executor = Executors.newFixedThreadPool(threads)) {
            List<Future<BlobRef>> futures = IntStream.range(0, threads)
                    .mapToObj(_ -> executor.submit(() -> {
                        start.await();
                        return store.put(new ByteArrayInputStream(content));
                    }))
                    .toList();
            refs = futures.stream().map(BlobStoreTest::join).toList();
        }

        BlobRef expected = new BlobRef(sha256(content), content.length);
        assertThat(refs).containsOnly(expected);
        assertThat(filesUnder(root)).containsExactly(store.path(expected.sha256()));
        assertThat(store.verify(expected.sha256())).isEqualTo(expected);
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

        for (Runnable call : List.<Runnable>of(
                () -> store.path(digest),
                () -> store.exists(digest),
                () -> store.open(digest),
                () -> store.delete(digest),
                () -> store.verify(digest))) {
            assertThatThrownBy(call::run)
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                    .hasMessageContaining("expected 64 lowercase hex characters");
        }
    }

    @Test
    void verifyDetectsACorruptedBlob() throws IOException {
        BlobStore store = new BlobStore(root);
        BlobRef ref = store.put(new ByteArrayInputStream(randomBytes(50_000, 5)));
        byte[] corrupted = Files.readAllBytes(store.path(ref.sha256()));
        corrupted[25_000] ^= 1;
        Files.write(store.path(ref.sha256()), corrupted);

        assertThatThrownBy(() -> store.verify(ref.sha256()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL))
                .hasMessageStartingWith("blob " + ref.sha256() + " is corrupt");
    }

    @Test
    void missingBlobIsNotFoundAndDeletingItIsHarmless() {
        BlobStore store = new BlobStore(root);
        BlobRef ref = store.put(new ByteArrayInputStream("abc".getBytes(StandardCharsets.US_ASCII)));

        store.delete(ref.sha256());
        store.delete(ref.sha256());

        assertThat(store.exists(ref.sha256())).isFalse();
        assertThatThrownBy(() -> store.open(ref.sha256()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> store.verify(ref.sha256()))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void stagedBlobCommitsOnlyOnce() {
        BlobStore store = new BlobStore(root);
        try (StagedBlob staged = store.stage(new ByteArrayInputStream(new byte[10]), 10)) {
            store.commit(staged, null);

            assertThatThrownBy(() -> store.commit(staged, null))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already committed");
        }
        assertThat(tempFiles()).isEmpty();
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

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static <T> T join(Future<T> future) {
        try {
            return future.get();
        }
        catch (Exception e) {
            throw new AssertionError("import failed", e);
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
