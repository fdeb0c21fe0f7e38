package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A factory whose home is a small file system of its own (a 64 MiB tmpfs the test mounts, so the rest of the
 * machine is never filled): uploads the disk can't hold answer 507 with the space that is free, leave no partial
 * file, are recorded as what the client got, and the factory keeps serving and accepting what fits. Mounting needs
 * root (or a user namespace); where the machine can't, the test is skipped with that reason, except under CI.
 */
@ServerTest
class DiskFullTest {
    private static final String SIZE = "64m";

    @TempDir
    static Path dir;

    private static Path home;
    private static boolean mounted;
    private static TestFactory factory;

    @BeforeAll
    static void mountASmallFileSystem() throws Exception {
        home = Files.createDirectory(dir.resolve("home"));
        String failure = run("mount", "-t", "tmpfs", "-o", "size=" + SIZE + ",mode=0700", "tmpfs", home.toString());
        mounted = failure == null;
        assumeTrue(mounted || "true".equals(System.getenv("CI")),
                "cannot mount a " + SIZE + " tmpfs to fill (needs root): " + failure);
        assertThat(failure).as("mounting a tmpfs under CI").isNull();
        factory = TestFactory.start(home);
    }

    @AfterAll
    static void unmount() throws Exception {
        TestFactory.closeAll(factory);
        if (mounted) {
            // Lazily: the ONNX runtime's native library, loaded from the home's cache, stays mapped until the JVM exits.
            assertThat(run("umount", "-l", home.toString())).isNull();
        }
    }

    @Test
    void anUploadLargerThanTheFreeSpaceIsRefusedBeforeItsBodyIsRead() throws Exception {
        long free = Files.getFileStore(home).getUsableSpace();
        byte[] body = new byte[(int) (free + (4 << 20))];
        HttpResponse<String> r = factory.send(factory.request("/api/v1/models/acme/huge/versions", factory.adminKey())
                .expectContinue(true).header("Content-Type", "application/octet-stream")
                .header("X-Request-Id", "too-big").PUT(HttpRequest.BodyPublishers.ofByteArray(body)));

        assertThat(r.statusCode()).isEqualTo(507);
        JsonNode error = Json.mapper().readTree(r.body()).path("error");
        assertThat(error.path("message").asText()).startsWith("not enough disk space for ")
                .contains(" free; nothing was stored").doesNotContain(home.toString());
        assertNothingLeft();
        assertThat(factory.auditRecord("too-big", factory.adminKey()).path("status").asInt()).isEqualTo(507);
    }

    @Test
    void anUploadOfUnknownLengthThatFillsTheDiskIsRefusedCleanedUpAndTheFactoryKeepsServing() throws Exception {
        long free = Files.getFileStore(home).getUsableSpace();
        byte[] filler = new byte[(int) (free + (8 << 20))];
        new Random(7).nextBytes(filler);
        // A stream of unknown length goes out chunked: the server learns how large it is only by running out of room.
        Supplier<InputStream> content = () -> new SequenceInputStream(
                new ByteArrayInputStream("GGUF".getBytes(StandardCharsets.US_ASCII)), new ByteArrayInputStream(filler));
        HttpResponse<String> r = factory.send(factory.request("/api/v1/models/acme/filler/versions", factory.adminKey())
                .header("Content-Type", "application/octet-stream").header("X-Request-Id", "fills-disk")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(content)));

        assertThat(r.statusCode()).isEqualTo(507);
        String message = Json.mapper().readTree(r.body()).path("error").path("message").asText();
        assertThat(message).startsWith("the factory's store ran out of disk space after ")
                .contains("nothing was stored and the partial file is gone").containsPattern("\\(\\d.* free now\\)");
        assertNothingLeft();
        assertThat(Files.getFileStore(home).getUsableSpace()).as("the partial file's space is free again")
                .isGreaterThan(free - (1 << 20));
        JsonNode record = factory.auditRecord("fills-disk", factory.adminKey());
        assertThat(record.path("status").asInt()).isEqualTo(507);
        assertThat(record.path("outcome").asText()).isEqualTo("failure");

        assertThat(factory.get("/health/ready", null).statusCode()).isEqualTo(200);
        byte[] small = Files.readAllBytes(ai.factory.TestModels.tinyLlama());
        HttpResponse<String> fits = factory.send(factory.request("/api/v1/models/acme/fits/versions", factory.adminKey())
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(small)));
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(201);
        assertThat(factory.get("/api/v1/audit/verify", factory.adminKey()).body()).contains("\"ok\":true");
    }

    private static void assertNothingLeft() throws IOException {
        try (Stream<Path> staging = Files.list(home.resolve("blobs").resolve("tmp"))) {
            assertThat(staging.toList()).as("staging files").isEmpty();
        }
        assertThat(factory.get("/api/v1/models/acme/huge", factory.adminKey()).statusCode()).isEqualTo(404);
        assertThat(factory.get("/api/v1/models/acme/filler", factory.adminKey()).statusCode()).isEqualTo(404);
    }

    /** Runs a command; null when it succeeded, else what it printed. */
    private static String run(String... command) throws Exception {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? null : out.isEmpty() ? "exit " + p.exitValue() : out;
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}
