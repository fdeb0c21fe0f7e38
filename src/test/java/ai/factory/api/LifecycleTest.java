package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.concurrent.CountDownLatch;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start, restart and graceful shutdown of a whole factory. */
@ServerTest
class LifecycleTest {
    /**
     * Threads of their own for the blocked upload and the shutdown: the common pool has one worker on a 2-core
     * machine, where the shutdown would queue behind the upload it is meant to wait for.
     */
    private static final java.util.concurrent.Executor THREADS = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    @TempDir
    Path home;

    @Test
    void firstStartCreatesAPrivateAdminKeyAndARestartKeepsEverything() throws IOException {
        String key;
        try (TestFactory first = TestFactory.start(home)) {
            key = first.adminKey();
            Path keyFile = home.resolve("admin.key");
            assertThat(Files.readString(keyFile).trim()).isEqualTo(key);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
            assertThat(Files.readString(home.resolve("run").resolve("server.json"))).contains(first.url());
        }
        assertThat(home.resolve("run").resolve("server.json")).doesNotExist();

        var config = new ai.factory.config.ConfigLoader(java.util.Map.of()).load(home,
                java.util.Map.of(ai.factory.config.Setting.PORT, "0"));
        try (ai.factory.app.Factory second = ai.factory.app.Factory.start(config)) {
            assertThat(second.newAdminKey()).as("no new admin key on restart").isEmpty();
            var http = java.net.http.HttpClient.newHttpClient();
            HttpResponse<String> r = send(http, HttpRequest.newBuilder(java.net.URI.create(second.url() + "/v1/models"))
                    .header("Authorization", "Bearer " + key).build());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(json(r).at("/data/0/id").asText()).isEqualTo("builtin/all-minilm-l6-v2");
            HttpResponse<String> models = send(http, HttpRequest.newBuilder(
                    java.net.URI.create(second.url() + "/api/v1/models/builtin/all-minilm-l6-v2"))
                    .header("Authorization", "Bearer " + key).build());
            assertThat(json(models).path("versions").size()).as("bundled model registered once").isEqualTo(1);
        }
    }

    @Test
    void shutdownFinishesInFlightRequestsAndRefusesNewOnes() throws Exception {
        byte[] gguf = Files.readAllBytes(TestModels.tinyLlama());
        TestFactory factory = TestFactory.start(home);
        CountDownLatch rest = new CountDownLatch(1);
        // The first half of the file, then a pause until the test releases the rest.
        InputStream body = new SequenceInputStream(new ByteArrayInputStream(gguf, 0, gguf.length / 2), new InputStream() {
            private final InputStream second = new ByteArrayInputStream(gguf, gguf.length / 2, gguf.length - gguf.length / 2);

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    rest.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                return second.read(b, off, len);
            }
        });
        CompletableFuture<HttpResponse<String>> upload = CompletableFuture.supplyAsync(() -> factory.send(
                factory.request("/api/v1/models/acme/slow/versions?filename=slow.gguf", factory.adminKey())
                        .PUT(HttpRequest.BodyPublishers.fromPublisher(
                                HttpRequest.BodyPublishers.ofInputStream(() -> body), gguf.length))), THREADS);
        Path tmp = home.resolve("blobs").resolve("tmp");
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> upload.isDone() || staging(tmp));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            String dump = Files.readString(dumpThreads());
            throw new AssertionError("the upload neither staged nor ended; threads, virtual ones included:\n"
                    + dump.substring(0, Math.min(dump.length(), 60_000)), e);
        }
        assertThat(upload).as("the upload ended before shutdown: %s", upload.isDone() ? upload.join().statusCode()
                + " " + upload.join().body() : "").isNotDone();

        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(factory::close, THREADS);
        await().atMost(Duration.ofSeconds(90)).until(() -> factory.get("/health/ready", null).statusCode() == 503);
        HttpResponse<String> refused = factory.get("/v1/models", factory.adminKey());
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(json(refused).at("/error/message").asText()).contains("shutting down");
        assertThat(shutdown).isNotDone();

        rest.countDown();
        HttpResponse<String> finished = upload.get();
        assertThat(finished.statusCode()).as(finished.body()).isEqualTo(201);
        shutdown.get();

        try (TestFactory again = TestFactory.start(home)) {
            HttpResponse<String> kept = again.get("/api/v1/models/acme/slow", again.adminKey());
            assertThat(kept.statusCode()).as("the finished upload survived shutdown").isEqualTo(200);
        }
    }

    private static boolean staging(Path tmp) throws IOException {
        try (var files = Files.list(tmp)) {
            return files.findAny().isPresent();
        }
    }

    /** Every thread of this JVM, virtual ones too (the server's request threads are), as a file under target/. */
    private static Path dumpThreads() {
        try {
            Path file = Path.of("target", "LifecycleTest-threads-" + System.nanoTime() + ".txt").toAbsolutePath();
            java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .dumpThreads(file.toString(), com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
            return file;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static HttpResponse<String> send(java.net.http.HttpClient http, HttpRequest r) {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
