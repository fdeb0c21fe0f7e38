package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.app.Factory;
import ai.factory.Json;
import ai.factory.PausePoints;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.security.audit.CallJournal;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A factory killed with SIGKILL in the middle of every kind of multi-step write at once, then started again on the
 * same home. The child process holds each operation at a named {@link PausePoints pause point}, so the kill lands
 * exactly there and not where timing happens to put it:
 *
 * <ul>
 * <li>an upload whose file is staged but not yet renamed into the store;</li>
 * <li>an upload whose blob is renamed into place but whose version was never recorded;</li>
 * <li>a model delete whose rows are gone but whose blob and key are not;</li>
 * <li>a deployment that is loading;</li>
 * <li>a project key rotation inside its transaction;</li>
 * <li>a master key rotation whose new version is current but whose KEKs are not re-wrapped yet;</li>
 * <li>two streaming generations.</li>
 * </ul>
 *
 * <p>After the restart, registry, blobs, keys, deployments and audit agree: no staging file, no blob without a key or
 * a user, the deployment serves, every key still unwraps, every cut-off call is recorded as interrupted once, the
 * repair itself is recorded, and the chain verifies.
 */
@ServerTest
class CrashRecoveryTest {
    @TempDir
    Path home;

    @TempDir
    Path files;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aKillAtAnyPointOfAMultiStepWriteIsRepairedAtTheNextStart() throws Exception {
        Path tiny = TestModels.tinyLlama(); // skips here, as the other tests do, where the test model is absent
        Map<String, Path> models = new LinkedHashMap<>();
        for (String name : List.of("beta/tiny", "acme/doomed", "acme/late", "acme/staged", "acme/placed")) {
            models.put(name, distinctCopy(tiny, name));
        }
        Map<String, String> pauses = Map.of(PausePoints.PROPERTY, String.join(",", "deploy.loading@acme/late",
                "upload.staged@acme/staged", "upload.placed@acme/placed", "model.deleted@acme/doomed",
                "keys.rotateKek@beta", "keys.rotateMaster@master"));
        List<String> cutOff = List.of("cut-1", "cut-2", "up-staged", "up-placed", "del-doomed", "rot-kek", "rot-master");
        List<InputStream> streams = new ArrayList<>();
        try (FactoryProcess.Child child = FactoryProcess.Child.start(home, pauses)) {
            String url = child.url();
            String key = child.adminKey();
            assertThat(send(url, key, "new-beta", "POST", "/api/v1/projects", "{\"name\": \"beta\"}").statusCode())
                    .isEqualTo(201);
            assertThat(upload(url, key, "up-beta", "beta/tiny?project=beta", models.get("beta/tiny")).statusCode())
                    .isEqualTo(201);
            assertThat(upload(url, key, "up-doomed", "acme/doomed", models.get("acme/doomed")).statusCode()).isEqualTo(201);
            assertThat(upload(url, key, "up-late", "acme/late", models.get("acme/late")).statusCode()).isEqualTo(201);
            assertThat(send(url, key, "dep-late", "POST", "/api/v1/deployments",
                    "{\"model\": \"acme/late\", \"context\": 256}").statusCode()).isEqualTo(202);
            child.awaitLine("paused at deploy.loading@acme/late", Duration.ofMinutes(1));
            for (String id : List.of("cut-1", "cut-2")) {
                HttpResponse<InputStream> r = http.send(request(url, key, id, "/v1/completions").header("Content-Type",
                        "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"acme/tiny\", "
                        + "\"prompt\": \"x\", \"max_tokens\": 100000, \"ignore_eos\": true, \"stream\": true}")).build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body().readNBytes(500)).as("the generation streams").hasSize(500);
                streams.add(r.body());
            }
            List<CompletableFuture<?>> held = new ArrayList<>();
            held.add(uploadAsync(url, key, "up-staged", "acme/staged", models.get("acme/staged")));
            child.awaitLine("paused at upload.staged@acme/staged", Duration.ofMinutes(1));
            held.add(uploadAsync(url, key, "up-placed", "acme/placed", models.get("acme/placed")));
            child.awaitLine("paused at upload.placed@acme/placed", Duration.ofMinutes(1));
            held.add(sendAsync(url, key, "del-doomed", "DELETE", "/api/v1/models/acme/doomed", null));
            child.awaitLine("paused at model.deleted@acme/doomed", Duration.ofMinutes(1));
            held.add(sendAsync(url, key, "rot-kek", "POST", "/api/v1/projects/beta/rotate-key", ""));
            child.awaitLine("paused at keys.rotateKek@beta", Duration.ofMinutes(1));
            held.add(sendAsync(url, key, "rot-master", "POST", "/api/v1/encryption/rotate-master", "{}"));
            child.awaitLine("paused at keys.rotateMaster@master", Duration.ofMinutes(1));

            assertThat(child.kill()).as("killed by SIGKILL").isEqualTo(128 + 9);
            held.forEach(f -> f.cancel(true));
        } finally {
            for (InputStream s : streams) {
                s.close();
            }
        }

        Path blobs = home.resolve("blobs");
        try (Stream<Path> staging = Files.list(blobs.resolve("tmp"))) {
            assertThat(staging.count()).as("the kill left a staging file").isPositive();
        }
        try (TestFactory restarted = TestFactory.start(home)) {
            String admin = restarted.adminKey();
            assertThat(blobs.resolve("tmp")).isEmptyDirectory();
            for (String gone : List.of("acme/staged", "acme/placed", "acme/doomed")) {
                assertThat(restarted.get("/api/v1/models/" + gone, admin).statusCode()).as(gone).isEqualTo(404);
                assertThat(blobFiles(blobs)).as("the blob of " + gone).doesNotContain(sha256(models.get(gone)));
            }
            Set<String> inUse = new HashSet<>(Json.mapper().readTree(restarted.get("/api/v1/models", admin).body())
                    .findValuesAsText("sha256"));
            assertThat(blobFiles(blobs)).as("every blob on disk is one a model uses, and the other way round")
                    .containsExactlyInAnyOrderElementsOf(inUse);

            JsonNode sweep = record(restarted, r -> r.path("action").asText().equals(Factory.STORE_SWEEP));
            assertThat(sweep.path("outcome").asText()).isEqualTo("success");
            assertThat(sweep.path("detail").asText()).contains("1 blob file(s) whose key was never recorded")
                    .contains("1 blob(s) nothing uses any more").doesNotContain("removed 0 staging");
            assertThat(sweep.path("bytesOut").asLong()).as("bytes freed").isGreaterThan(2 * Files.size(tiny));

            await().atMost(Duration.ofMinutes(2)).until(() -> deploymentState(restarted, "acme/late").equals("ready"));
            assertThat(restarted.get("/api/v1/models/beta/tiny/plan?ctx=256", admin).statusCode())
                    .as("the project's data key still unwraps after its rotation was cut off").isEqualTo(200);
            JsonNode encryption = Json.mapper().readTree(restarted.get("/api/v1/encryption", admin).body());
            int current = encryption.path("master").path("current").asInt();
            assertThat(current).as("the new master version was made current before the kill").isEqualTo(2);
            for (JsonNode kek : encryption.path("keys")) {
                assertThat(kek.path("masterKeyVersion").asInt()).as("KEK of %s re-wrapped at start", kek.path("project"))
                        .isEqualTo(current);
                if (kek.path("project").asText().equals("beta")) {
                    assertThat(kek.path("kekVersion").asInt()).as("the cut-off KEK rotation rolled back").isEqualTo(1);
                }
            }

            for (String id : cutOff) {
                JsonNode r = restarted.auditRecord(id, admin);
                assertThat(r.path("outcome").asText()).as(id).isEqualTo(CallJournal.INTERRUPTED);
                assertThat(r.path("decision").asText()).as(id).isEqualTo("allow");
            }
            assertThat(restarted.get("/api/v1/audit/verify", admin).body()).contains("\"ok\":true");
        }
        // Repaired once: a second start finds nothing to sweep and nothing left to close.
        try (TestFactory again = TestFactory.start(home)) {
            JsonNode records = Json.mapper().readTree(again.get("/api/v1/audit?limit=1000", again.adminKey()).body())
                    .path("records");
            for (String id : cutOff) {
                assertThat(count(records, r -> r.path("requestId").asText().equals(id))).as(id).isEqualTo(1);
            }
            assertThat(count(records, r -> r.path("action").asText().equals(Factory.STORE_SWEEP))).isEqualTo(1);
        }
    }

    /** The test model with bytes appended (GGUF readers ignore them), so each import stores a blob of its own. */
    private Path distinctCopy(Path gguf, String name) throws Exception {
        Path copy = files.resolve(name.replace('/', '-') + ".gguf");
        Files.copy(gguf, copy);
        Files.write(copy, ("\0" + name).getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        return copy;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    private static List<String> blobFiles(Path blobs) throws Exception {
        try (Stream<Path> walk = Files.walk(blobs.resolve("keyed"))) {
            return walk.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
        }
    }

    private static String deploymentState(TestFactory factory, String model) throws Exception {
        for (JsonNode d : Json.mapper().readTree(factory.get("/api/v1/deployments", factory.adminKey()).body())
                .findParents("model")) {
            if (d.path("model").asText().equals(model)) {
                return d.path("state").asText();
            }
        }
        return "absent";
    }

    private static HttpRequest.Builder request(String url, String key, String requestId, String path) {
        return HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer " + key)
                .header("X-Request-Id", requestId);
    }

    private HttpResponse<String> upload(String url, String key, String id, String model, Path file) throws Exception {
        return uploadAsync(url, key, id, model, file).get();
    }

    /** PUTs {@code file} as a new version of {@code model}, which may carry a query ({@code name?project=…}). */
    private CompletableFuture<HttpResponse<String>> uploadAsync(String url, String key, String id, String model,
                                                                Path file) throws Exception {
        String[] nameAndQuery = model.split("\\?", 2);
        String path = "/api/v1/models/" + nameAndQuery[0] + "/versions" + (nameAndQuery.length > 1 ? "?" + nameAndQuery[1] : "");
        return http.sendAsync(request(url, key, id, path).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String url, String key, String id, String method, String path, String json)
            throws Exception {
        return sendAsync(url, key, id, method, path, json).get();
    }

    private CompletableFuture<HttpResponse<String>> sendAsync(String url, String key, String id, String method,
                                                              String path, String json) {
        HttpRequest.Builder r = request(url, key, id, path);
        if (json != null) {
            r.header("Content-Type", "application/json");
        }
        return http.sendAsync(r.method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode record(TestFactory factory, Predicate<JsonNode> which) throws Exception {
        for (JsonNode r : Json.mapper().readTree(factory.get("/api/v1/audit?limit=1000", factory.adminKey()).body())
                .path("records")) {
            if (which.test(r)) {
                return r;
            }
        }
        throw new AssertionError("no such audit record");
    }

    private static long count(JsonNode records, Predicate<JsonNode> which) {
        long n = 0;
        for (JsonNode r : records) {
            n += which.test(r) ? 1 : 0;
        }
        return n;
    }
}
