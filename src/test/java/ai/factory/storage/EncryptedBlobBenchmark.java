package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cost of encrypting blobs, each way measured beside its plain peer in the same run: importing (SHA-256 and a
 * write, with and without encryption), reading back (plain file vs decrypting channel), the cipher alone, and, with
 * {@code -Dfactory.keys.bench.gguf=FILE}, loading a GGUF into llama.cpp from the plain file vs decrypting it into a
 * memfd first. Off unless {@code -Dfactory.keys.bench=true}:
 * {@code ./factory test -Dtest=EncryptedBlobBenchmark -Dfactory.keys.bench=true -Dfactory.keys.bench.gguf=/tmp/x.gguf}.
 * Numbers go to standard output as Markdown; docs/keys.md keeps them.
 */
@EnabledIfSystemProperty(named = "factory.keys.bench", matches = "true")
class EncryptedBlobBenchmark {
    private static final int RUNS = 3;
    private static final long SIZE = Long.getLong("factory.keys.bench.bytes", 1L << 30);

    @TempDir
    Path dir;

    @Test
    void throughputOfTheChunkedFormatAgainstPlainFiles() throws Exception {
        Path source = dir.resolve("source.bin");
        writeRandom(source, SIZE);
        BlobStore store = new BlobStore(dir.resolve("blobs"));
        List<String> rows = new ArrayList<>();

        rows.add(row("import: SHA-256 + write + fsync, plain (peer)", median(() -> {
            Path out = dir.resolve("plain-copy.bin");
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            try (InputStream in = Files.newInputStream(source); OutputStream o = Files.newOutputStream(out)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                    o.write(buffer, 0, n);
                }
            }
            try (FileChannel c = FileChannel.open(out, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            Files.delete(out);
        })));
        StagedBlob[] kept = new StagedBlob[1];
        rows.add(row("import: SHA-256 + AES-256-GCM-HKDF + write + fsync (BlobStore.stage)", median(() -> {
            if (kept[0] != null) {
                kept[0].close();
            }
            try (InputStream in = Files.newInputStream(source)) {
                kept[0] = store.stage("bench", in, Long.MAX_VALUE);
            }
        })));
        BlobRef ref = store.commit(kept[0], null);
        DataKey key = kept[0].dataKey();

        rows.add(row("read: plain file, sequential (peer)", median(() -> drain(FileChannel.open(source)))));
        rows.add(row("read: decrypting channel, sequential (BlobStore.open)", median(() ->
                drain(store.open("bench", ref.sha256(), key)))));
        rows.add(row("cipher only: encrypt from memory to nowhere", median(() -> {
            byte[] chunk = new byte[1 << 20];
            new Random(1).nextBytes(chunk);
            try (OutputStream enc = key.streamingAead().newEncryptingStream(OutputStream.nullOutputStream(), new byte[0])) {
                for (long done = 0; done < SIZE; done += chunk.length) {
                    enc.write(chunk);
                }
            }
        })));
        System.out.println("\n| " + (SIZE >> 20) + " MiB, median of " + RUNS + " | seconds | MB/s |\n| --- | ---: | ---: |");
        rows.forEach(System.out::println);
    }

    @Test
    @EnabledIfSystemProperty(named = "factory.keys.bench.gguf", matches = ".+")
    void loadingAnEncryptedGgufAgainstThePlainFile() throws Exception {
        Path gguf = Path.of(System.getProperty("factory.keys.bench.gguf"));
        LlamaRuntime runtime = LlamaRuntime.load();
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(512).withParallel(1).withThreads(2);
        BlobStore store = new BlobStore(dir.resolve("blobs"));
        StagedBlob staged;
        try (InputStream in = Files.newInputStream(gguf)) {
            staged = store.stage("bench", in, Long.MAX_VALUE);
        }
        BlobRef ref = store.commit(staged, null);
        long bytes = Files.size(gguf);
        List<String> rows = new ArrayList<>();
        rows.add(row("load from the plain file (mmap; page cache warm after the first run)", median(() -> {
            try (LlamaEngine engine = LlamaEngine.load(runtime, gguf, options)) {
                assertThat(engine).isNotNull();
            }
        }), bytes));
        rows.add(row("decrypt into a memfd only (no load)", median(() -> {
            try (SeekableByteChannel plain = store.open("bench", ref.sha256(), staged.dataKey());
                    MemoryFile file = MemoryFile.copyOf(plain, "bench")) {
                assertThat(file.size()).isEqualTo(bytes);
            }
        }), bytes));
        rows.add(row("decrypt into a memfd + load from it (mmap + mlock)", median(() -> {
            try (SeekableByteChannel plain = store.open("bench", ref.sha256(), staged.dataKey());
                    MemoryFile file = MemoryFile.copyOf(plain, "bench");
                    LlamaEngine engine = LlamaEngine.loadFromMemory(runtime, file.path(), "bench", options)) {
                assertThat(engine).isNotNull();
            }
        }), bytes));
        System.out.println("\n| " + gguf.getFileName() + " (" + (bytes >> 20) + " MiB), median of " + RUNS
                + " | seconds | MB/s |\n| --- | ---: | ---: |");
        rows.forEach(System.out::println);
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    private static double median(Body body) throws Exception {
        List<Double> seconds = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            long t0 = System.nanoTime();
            body.run();
            seconds.add((System.nanoTime() - t0) / 1e9);
        }
        Collections.sort(seconds);
        return seconds.get(RUNS / 2);
    }

    private static String row(String what, double seconds) {
        return row(what, seconds, SIZE);
    }

    private static String row(String what, double seconds, long bytes) {
        return "| %s | %.2f | %.0f |".formatted(what, seconds, bytes / 1e6 / seconds);
    }

    private static void drain(SeekableByteChannel channel) throws IOException {
        try (channel) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            while (channel.read(buffer) != -1) {
                buffer.clear();
            }
        }
    }

    private static void writeRandom(Path file, long size) throws IOException {
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(42);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
    }
}
