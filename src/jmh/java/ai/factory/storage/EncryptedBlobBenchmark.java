package ai.factory.storage;

import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of encrypting blobs, each way beside its plain peer: importing (SHA-256, a write and an fsync, plain
 * against {@link BlobStore#stage}), reading back sequentially (a plain file against {@link BlobStore#open}'s
 * decrypting channel), and the cipher alone; each operation handles the whole blob of {@code mebibytes} random bytes
 * once, so MB/s is {@code mebibytes × 1.048576 ÷ seconds}. The {@code gguf*} benchmarks load a GGUF into llama.cpp
 * from its plain file against decrypting it into a memfd first (and that decryption alone); they need the llama.cpp
 * natives ({@code ./factory jmh} passes them) and a GGUF, by default the tiny test model at
 * {@code ../shared/models/llama-2-tiny-random.gguf} relative to the working directory ({@code -p gguf=FILE} picks
 * another). Temporary files go to the JVM's temporary folder ({@code java.io.tmpdir}).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
// The cipher's code takes two or three whole-blob operations to be compiled.
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class EncryptedBlobBenchmark {
    private static final String OWNER = "bench";
    private static final int BUFFER = 1 << 20;

    /** A file of random bytes, and the same bytes as a committed blob. */
    @State(Scope.Benchmark)
    public static class Blob {
        @Param("256")
        int mebibytes;

        Path dir;
        Path source;
        BlobStore store;
        BlobRef ref;
        DataKey key;
        /** What an import left behind, removed after each operation so that its deletion is not timed. */
        @Nullable Path plainCopy;
        @Nullable StagedBlob staged;

        @Setup(Level.Trial)
        public void create() throws IOException {
            dir = Files.createTempDirectory("factory-blob-bench");
            source = dir.resolve("source.bin");
            writeRandom(source, (long) mebibytes << 20);
            store = new BlobStore(dir.resolve("blobs"));
            try (InputStream in = Files.newInputStream(source); StagedBlob blob = store.stage(OWNER, in, Long.MAX_VALUE)) {
                ref = store.commit(blob, null);
                key = blob.dataKey();
            }
        }

        @TearDown(Level.Invocation)
        public void removeImports() throws IOException {
            if (plainCopy != null) {
                Files.deleteIfExists(plainCopy);
                plainCopy = null;
            }
            if (staged != null) {
                staged.close();
                staged = null;
            }
        }

        @TearDown(Level.Trial)
        public void delete() throws IOException {
            deleteTree(dir);
        }
    }

    /** A GGUF, as a plain file and as a committed blob. */
    @State(Scope.Benchmark)
    public static class Gguf {
        @Param("../shared/models/llama-2-tiny-random.gguf")
        String gguf;

        Path file;
        Path dir;
        BlobStore store;
        BlobRef ref;
        DataKey key;
        LlamaRuntime runtime;
        LlamaEngineOptions options;

        @Setup(Level.Trial)
        public void create() throws IOException {
            file = Path.of(gguf);
            if (!Files.isRegularFile(file)) {
                throw new IllegalStateException("no GGUF at " + file.toAbsolutePath()
                        + "; run from the repository root or pass -p gguf=FILE");
            }
            runtime = LlamaRuntime.load();
            options = LlamaEngineOptions.defaults().withContextPerSequence(512).withParallel(1).withThreads(2);
            dir = Files.createTempDirectory("factory-gguf-bench");
            store = new BlobStore(dir.resolve("blobs"));
            try (InputStream in = Files.newInputStream(file); StagedBlob blob = store.stage(OWNER, in, Long.MAX_VALUE)) {
                ref = store.commit(blob, null);
                key = blob.dataKey();
            }
        }

        @TearDown(Level.Trial)
        public void delete() throws IOException {
            deleteTree(dir);
        }
    }

    /** The peer of {@link #importEncrypted}: SHA-256 of the plaintext while writing it to a plain file, then fsync. */
    @Benchmark
    public byte[] importPlain(Blob blob) throws IOException, GeneralSecurityException {
        blob.plainCopy = blob.dir.resolve("plain-copy.bin");
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(blob.source); OutputStream out = Files.newOutputStream(blob.plainCopy)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
            }
        }
        try (FileChannel channel = FileChannel.open(blob.plainCopy, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        return digest.digest();
    }

    /** SHA-256, AES-256-GCM-HKDF, a write and an fsync: {@link BlobStore#stage}. */
    @Benchmark
    public String importEncrypted(Blob blob) throws IOException {
        try (InputStream in = Files.newInputStream(blob.source)) {
            blob.staged = blob.store.stage(OWNER, in, Long.MAX_VALUE);
        }
        return blob.staged.sha256();
    }

    /** The peer of {@link #readDecrypting}: the plain file, read sequentially. */
    @Benchmark
    public long readPlain(Blob blob) throws IOException {
        return drain(FileChannel.open(blob.source));
    }

    /** The blob through {@link BlobStore#open}'s decrypting channel, read sequentially. */
    @Benchmark
    public long readDecrypting(Blob blob) throws IOException {
        return drain(blob.store.open(OWNER, blob.ref.sha256(), blob.key));
    }

    /** The cipher alone: as many bytes as the blob holds, encrypted from memory into nowhere. */
    @Benchmark
    public void cipherOnly(Blob blob) throws IOException, GeneralSecurityException {
        byte[] chunk = new byte[BUFFER];
        new Random(1).nextBytes(chunk);
        try (OutputStream encrypting = blob.key.streamingAead()
                .newEncryptingStream(OutputStream.nullOutputStream(), new byte[0])) {
            for (long done = 0; done < blob.ref.size(); done += chunk.length) {
                encrypting.write(chunk);
            }
        }
    }

    /** The peer of {@link #ggufDecryptAndLoad}: llama.cpp maps the plain file (its pages read lazily, on first use). */
    @Benchmark
    public void ggufLoadPlain(Gguf gguf) {
        try (LlamaEngine _ = LlamaEngine.load(gguf.runtime, gguf.file, gguf.options)) {
            // Loaded: the engine is ready to serve.
        }
    }

    /** Decrypting the model into a memfd, without loading it: the part of {@link #ggufDecryptAndLoad} that is ours. */
    @Benchmark
    public long ggufDecryptToMemory(Gguf gguf) throws IOException {
        try (SeekableByteChannel plain = gguf.store.open(OWNER, gguf.ref.sha256(), gguf.key);
                MemoryFile file = MemoryFile.copyOf(plain, OWNER)) {
            return file.size();
        }
    }

    /** What deploying an encrypted model does: decrypt into a memfd, then load from it (mmap and mlock). */
    @Benchmark
    public void ggufDecryptAndLoad(Gguf gguf) throws IOException {
        try (SeekableByteChannel plain = gguf.store.open(OWNER, gguf.ref.sha256(), gguf.key);
                MemoryFile file = MemoryFile.copyOf(plain, OWNER);
                LlamaEngine _ = LlamaEngine.loadFromMemory(gguf.runtime, file.path(), OWNER, gguf.options)) {
            // Loaded: the engine is ready to serve.
        }
    }

    private static long drain(SeekableByteChannel channel) throws IOException {
        long read = 0;
        try (channel) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
            for (int n; (n = channel.read(buffer)) != -1; ) {
                read += n;
                buffer.clear();
            }
        }
        return read;
    }

    private static void writeRandom(Path file, long size) throws IOException {
        byte[] chunk = new byte[BUFFER];
        Random random = new Random(42);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
