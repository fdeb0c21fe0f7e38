package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry over HTTP: uploads, server-path imports, listing, deletion and who may do what. */
@ServerTest
class ModelsAdminApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static String invokerKey;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        invokerKey = json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"app\",\"role\":\"invoker\"}"))
                .path("secret").asText();
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    private static HttpResponse<String> upload(String model, String key, byte[] body, String query) {
        // Expect: 100-continue lets the server refuse before the body is sent, as the CLI does. A fresh client
        // per upload, as each CLI run has: a refused upload's connection is closed by the server, and a pooled
        // client could race that close with its next request.
        HttpRequest request = factory.request("/api/v1/models/" + model + "/versions" + query, key)
                .expectContinue(true)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void streamedUploadRegistersAVersionWithDigestAndMetadata() throws IOException {
        byte[] gguf = Files.readAllBytes(TestModels.tinyLlama());
        HttpResponse<String> r = upload("acme/uploaded", factory.adminKey(), gguf, "?filename=tiny.gguf");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode v = json(r);
        assertThat(v.path("model").asText()).isEqualTo("acme/uploaded");
        assertThat(v.path("format").asText()).isEqualTo("gguf");
        assertThat(v.at("/files/0/sha256").asText())
                .isEqualTo("81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb");
        assertThat(v.at("/metadata/architecture").asText()).isEqualTo("llama");
        assertThat(v.at("/metadata/vocabularySize").asInt()).isEqualTo(32000);

        JsonNode shown = json(factory.get("/api/v1/models/acme/uploaded", factory.adminKey()));
        assertThat(shown.path("latestVersion").asInt()).isEqualTo(1);
        JsonNode listed = json(factory.get("/api/v1/models", invokerKey));
        assertThat(listed.path("models").findValuesAsText("name")).contains("acme/uploaded", "builtin/all-minilm-l6-v2");

        assertThat(upload("acme/uploaded", factory.adminKey(), gguf,
                "?filename=tiny.gguf&sha256=81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb")
                .statusCode()).isEqualTo(201);
        assertThat(json(factory.get("/api/v1/models/acme/uploaded/versions/2", invokerKey)).path("version").asInt())
                .isEqualTo(2);
        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/models/acme/uploaded/versions/1",
                factory.adminKey()).DELETE());
        assertThat(json(deleted).path("deleted").get(0).asText()).isEqualTo("acme/uploaded:1");
        assertThat(factory.get("/api/v1/models/acme/uploaded/versions/1", invokerKey).statusCode()).isEqualTo(404);
    }

    @Test
    void badUploadsAreRejectedAndLeaveNothing() throws IOException {
        byte[] gguf = Files.readAllBytes(TestModels.tinyLlama());
        HttpResponse<String> truncated = upload("acme/broken", factory.adminKey(),
                Arrays.copyOf(gguf, gguf.length - 1000), "?filename=tiny.gguf");
        assertThat(truncated.statusCode()).isEqualTo(400);
        assertThat(json(truncated).at("/error/message").asText()).contains("GGUF");

        HttpResponse<String> mismatch = upload("acme/broken", factory.adminKey(), gguf,
                "?filename=tiny.gguf&sha256=" + "0".repeat(64));
        assertThat(mismatch.statusCode()).isEqualTo(400);
        assertThat(json(mismatch).at("/error/message").asText()).contains("digest mismatch");

        HttpResponse<String> notAModel = upload("acme/broken", factory.adminKey(), "hello".getBytes(), "?filename=a.txt");
        assertThat(notAModel.statusCode()).isEqualTo(415);

        assertThat(upload("acme/broken", factory.adminKey(), gguf, "?filename=../../etc/passwd").statusCode())
                .isEqualTo(400);
        assertThat(upload("acme/broken", factory.adminKey(), gguf, "?format=safetensors").statusCode()).isEqualTo(400);
        // PUT /api/v1/models/no-namespace/versions is the path of a model named "versions" in namespace
        // "no-namespace", which takes GET, PATCH and DELETE only.
        HttpResponse<String> noNamespace = upload("no-namespace", factory.adminKey(), gguf, "");
        assertThat(noNamespace.statusCode()).isEqualTo(405);
        assertThat(noNamespace.headers().firstValue("Allow")).contains("GET, PATCH, DELETE");
        assertThat(upload("acme/bad%20name", factory.adminKey(), gguf, "").statusCode()).isEqualTo(400);

        assertThat(factory.get("/api/v1/models/acme/broken", factory.adminKey()).statusCode()).isEqualTo(404);
        try (var tmp = Files.list(home.resolve("blobs").resolve("tmp"))) {
            assertThat(tmp).isEmpty();
        }
    }

    @Test
    void serverPathImportIsForAdminsOnly() {
        String body = "{\"path\":\"" + TestModels.tinyLlama().toAbsolutePath() + "\"}";
        HttpResponse<String> forbidden = factory.post("/api/v1/models/acme/by-path/versions", invokerKey, body);
        assertThat(forbidden.statusCode()).isEqualTo(403);
        assertThat(json(forbidden).at("/error/message").asText()).contains("may not importFromServer");
        assertThat(upload("acme/by-path", invokerKey, new byte[] {1}, "").statusCode()).isEqualTo(403);

        HttpResponse<String> ok = factory.post("/api/v1/models/acme/by-path/versions", factory.adminKey(), body);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
        assertThat(json(ok).path("source").asText()).startsWith("file:/");

        assertThat(factory.post("/api/v1/models/acme/by-path/versions", factory.adminKey(), "{\"path\":\"relative.gguf\"}")
                .statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/models/acme/by-path/versions", factory.adminKey(), "{\"path\":\"/no/such.gguf\"}")
                .body()).contains("no such file on the server");
        assertThat(factory.post("/api/v1/models/acme/by-path/versions", factory.adminKey(), "{\"path\": 5}")
                .statusCode()).isEqualTo(400);
        assertThat(factory.post("/api/v1/models/acme/by-path/versions", factory.adminKey(), "{oops")
                .statusCode()).isEqualTo(400);
    }

    @Test
    void theBuiltinNamespaceIsReservedForTheBundledModels() {
        HttpResponse<String> upload = factory.send(factory.request("/api/v1/models/builtin/mine/versions?filename=m.gguf",
                factory.adminKey()).PUT(java.net.http.HttpRequest.BodyPublishers.ofString("GGUF")));
        assertThat(upload.statusCode()).as(upload.body()).isEqualTo(400);
        assertThat(json(upload).at("/error/message").asText()).contains("reserved for the models bundled");
        HttpResponse<String> byPath = factory.post("/api/v1/models/builtin/all-minilm-l6-v2/versions", factory.adminKey(),
                "{\"path\": \"/dev/null\"}");
        assertThat(byPath.statusCode()).as(byPath.body()).isEqualTo(400);
        assertThat(json(factory.get("/api/v1/models/builtin/all-minilm-l6-v2", factory.adminKey())).path("versions")
                .size()).isEqualTo(1);
        assertThat(factory.get("/api/v1/models/builtin/mine", factory.adminKey()).statusCode()).isEqualTo(404);
        assertThat(home.resolve("blobs/keyed/_site")).isDirectory();
    }

    @Test
    void deployedModelCannotBeDeleted() {
        HttpResponse<String> r = factory.send(factory.request("/api/v1/models/builtin/all-minilm-l6-v2",
                factory.adminKey()).DELETE());
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(json(r).at("/error/message").asText()).contains("is deployed");
        assertThat(json(factory.get("/api/v1/deployments", factory.adminKey())).at("/deployments/0/state").asText())
                .isEqualTo("ready");
    }

    @Test
    void keysAreManagedByAdminsAndNeverListedWithSecrets() {
        assertThat(factory.post("/api/v1/projects", factory.adminKey(), "{\"name\":\"research\"}").statusCode())
                .isEqualTo(201);
        HttpResponse<String> created = factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\":\"ci\",\"project\":\"research\",\"role\":\"admin\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        String secret = json(created).path("secret").asText();
        String listing = factory.get("/api/v1/keys", factory.adminKey()).body();
        assertThat(listing).contains("research").doesNotContain(secret);

        assertThat(factory.get("/api/v1/keys", invokerKey).statusCode()).isEqualTo(403);
        assertThat(factory.post("/api/v1/keys", invokerKey, "{\"name\":\"x\"}").statusCode()).isEqualTo(403);
        assertThat(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"x\",\"role\":\"root\"}").statusCode())
                .isEqualTo(400);
        assertThat(factory.post("/api/v1/keys", factory.adminKey(), "{}").statusCode()).isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/keys/key-missing", factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(404);
    }

    @Test
    void healthIsOpenAndEverythingElseNeedsAKey() {
        assertThat(factory.get("/health/live", null).statusCode()).isEqualTo(200);
        HttpResponse<String> ready = factory.get("/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(json(ready).at("/checks/database").asText()).isEqualTo("up");
        assertThat(factory.get("/metrics", null).statusCode()).isEqualTo(401);
        assertThat(factory.get("/api/v1/models", null).statusCode()).isEqualTo(401);
        assertThat(factory.get("/api/v1/nothing-here", factory.adminKey()).statusCode()).isEqualTo(404);
    }

    @Test
    void metricsCountRequestsPerRouteAndModel() {
        factory.post("/v1/embeddings", factory.adminKey(), "{\"model\":\"builtin/all-minilm-l6-v2\",\"input\":\"m\"}");
        String metrics = factory.get("/metrics", factory.adminKey()).body();
        assertThat(metrics).contains("factory_http_requests_seconds_count{")
                .containsPattern("factory_http_requests_seconds_count\\{[^}]*model=\"builtin/all-minilm-l6-v2\"[^}]*"
                        + "route=\"/v1/embeddings\"[^}]*status=\"200\"")
                .contains("jvm_memory_used_bytes");

        // Calls that fail may name anything; their model names never become series.
        assertThat(factory.post("/v1/embeddings", factory.adminKey(),
                "{\"model\":\"nobody/made-up-42\",\"input\":\"m\"}").statusCode()).isEqualTo(404);
        assertThat(factory.get("/metrics", factory.adminKey()).body()).doesNotContain("made-up-42")
                .containsPattern("factory_http_requests_seconds_count\\{[^}]*model=\"\"[^}]*route=\"/v1/embeddings\""
                        + "[^}]*status=\"404\"");
    }
}
