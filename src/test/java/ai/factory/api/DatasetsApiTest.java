package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning datasets over HTTP: upload, list, show, delete; encryption at rest; all-or-nothing uploads; who may do
 * what; datasets going with their project and staying over a restart.
 */
@ServerTest
class DatasetsApiTest {
    private static final String MARKER = "okapi-lighthouse-4412";
    private static final String CHATS = "{\"messages\": [{\"role\": \"system\", \"content\": \"You are " + MARKER
            + "\"}, {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n"
            + "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", "
            + "\"content\": \"4\"}]}\n";
    /** Content no other test uploads, so that its blob is its own. */
    private static final String OWN_CHATS = CHATS + "{\"messages\": [{\"role\": \"user\", \"content\": \"Who?\"}, "
            + "{\"role\": \"assistant\", \"content\": \"The upload test\"}]}\n";
    private static final String TEXT = "{\"prompt\": \"Capital of France?\", \"completion\": \"Paris\"}\n";

    @TempDir
    static Path home;

    static TestFactory factory;
    static String invoker;
    static String developer;
    static String auditor;
    static String otherDeveloper;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        invoker = factory.createKey("app", "default", "invoker");
        developer = factory.createKey("dev", "default", "developer");
        auditor = factory.createKey("audit", "default", "auditor");
        assertThat(factory.post("/api/v1/projects", factory.adminKey(), "{\"name\":\"rivals\"}").statusCode())
                .isEqualTo(201);
        otherDeveloper = factory.createKey("rival-dev", "rivals", "developer");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static HttpResponse<String> upload(String name, String key, String body, String query) {
        return upload(name, key, body.getBytes(StandardCharsets.UTF_8), query, "upload-" + name.replace('/', '-'));
    }

    private static HttpResponse<String> upload(String name, String key, byte[] body, String query, String requestId) {
        // A fresh client per upload, as each CLI run has: a refused upload's connection may be closed by the server.
        HttpRequest request = factory.request("/api/v1/datasets/" + name + query, key).expectContinue(true)
                .header("Content-Type", "application/jsonl").header("X-Request-Id", requestId)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> delete(String name, String key) {
        return factory.send(factory.request("/api/v1/datasets/" + name, key).DELETE());
    }

    private static List<Path> blobFiles() throws IOException {
        try (Stream<Path> files = Files.walk(home.resolve("blobs"))) {
            return files.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void uploadListShowAndDelete() throws IOException {
        HttpResponse<String> r = upload("acme/support", developer, OWN_CHATS, "?classification=confidential");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode d = json(r);
        assertThat(d.path("name").asText()).isEqualTo("acme/support");
        assertThat(d.path("format").asText()).isEqualTo("openai-chat");
        assertThat(d.path("records").asInt()).isEqualTo(3);
        assertThat(d.path("sizeBytes").asLong()).isEqualTo(OWN_CHATS.getBytes(StandardCharsets.UTF_8).length);
        assertThat(d.path("sha256").asText()).hasSize(64);
        assertThat(d.path("project").asText()).isEqualTo("default");
        assertThat(d.path("classification").asText()).isEqualTo("confidential");
        assertThat(d.path("createdAt").asText()).isNotEmpty();

        JsonNode shown = json(factory.get("/api/v1/datasets/acme/support", developer));
        assertThat(shown).isEqualTo(d);
        assertThat(json(factory.get("/api/v1/datasets", factory.adminKey())).path("datasets").findValuesAsText("name"))
                .contains("acme/support");
        assertThat(json(factory.get("/api/v1/datasets", otherDeveloper)).path("datasets").findValuesAsText("name"))
                .as("another project's datasets are not listed").doesNotContain("acme/support");
        assertThat(factory.get("/api/v1/datasets/acme/support", otherDeveloper).statusCode())
                .as("another project's dataset answers as a missing one").isEqualTo(404);
        assertThat(delete("acme/support", otherDeveloper).statusCode()).isEqualTo(404);

        // Encrypted at rest: the blob named by the digest holds no plaintext.
        Path blob = blobFiles().stream().filter(p -> p.getFileName().toString().equals(d.path("sha256").asText()))
                .findFirst().orElseThrow();
        assertThat(new String(Files.readAllBytes(blob), StandardCharsets.ISO_8859_1)).doesNotContain(MARKER);

        HttpResponse<String> taken = upload("acme/support", developer, TEXT, "");
        assertThat(taken.statusCode()).isEqualTo(409);
        assertThat(json(taken).at("/error/message").asText()).contains("'acme/support' is taken");

        JsonNode audited = factory.auditRecord("upload-acme-support", factory.adminKey());
        assertThat(audited.path("action").asText()).isEqualTo("uploadDataset");
        assertThat(audited.path("resource").asText()).contains("acme", "support");

        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/datasets/acme/support", developer)
                .header("X-Request-Id", "delete-acme-support").DELETE());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertThat(json(deleted).path("deleted").asText()).isEqualTo("acme/support");
        assertThat(factory.auditRecord("delete-acme-support", factory.adminKey()).path("action").asText())
                .isEqualTo("deleteDataset");
        assertThat(factory.get("/api/v1/datasets/acme/support", developer).statusCode()).isEqualTo(404);
        assertThat(Files.exists(blob)).as("the blob goes with the last dataset that holds it").isFalse();
        assertThat(delete("acme/support", developer).statusCode()).isEqualTo(404);

        HttpResponse<String> again = upload("acme/support", developer, TEXT, "");
        assertThat(again.statusCode()).as("deleted, then uploaded again").isEqualTo(201);
        assertThat(json(again).path("format").asText()).isEqualTo("bedrock-text");
    }

    @Test
    void anInvalidDatasetIsRefusedWithItsLinesAndLeavesNothing() throws IOException {
        List<Path> before = blobFiles();
        String bad = CHATS + "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"tool\", "
                + "\"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"" + MARKER + "\"}]}\n"
                + "{\"messages\": \"oops\"}\n{not json\n";
        HttpResponse<String> r = upload("acme/broken", developer, bad, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = json(r).path("error");
        assertThat(error.path("message").asText()).contains(
                "line 3: messages[1].role must be system, user or assistant, not 'tool'",
                "line 4: messages must be an array, not a string", "line 5: not valid JSON");
        assertThat(error.path("param").asText()).isEqualTo("dataset");

        HttpResponse<String> mixed = upload("acme/broken", developer, CHATS + TEXT, "");
        assertThat(mixed.statusCode()).isEqualTo(400);
        assertThat(json(mixed).at("/error/message").asText()).contains("line 3: this record is Bedrock text, but "
                + "the dataset is OpenAI chat (from line 1)");
        assertThat(upload("acme/broken", developer, "", "").statusCode()).isEqualTo(400);
        assertThat(upload("acme/broken", developer, "\n\n", "").statusCode()).isEqualTo(400);
        assertThat(upload("acme/broken", developer, CHATS, "?classification=Top%20Secret").statusCode())
                .isEqualTo(400);
        assertThat(upload("acme/bad%20name", developer, CHATS, "").statusCode()).isEqualTo(400);
        assertThat(upload("acme/broken", developer, CHATS, "?project=nowhere").statusCode()).isEqualTo(404);

        assertThat(factory.get("/api/v1/datasets/acme/broken", factory.adminKey()).statusCode()).isEqualTo(404);
        assertThat(blobFiles()).as("no blob, no staging file").containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void aBodyDeclaredLargerThanADatasetMayBeIsRefusedBeforeItIsSent() throws IOException {
        URI url = URI.create(factory.url());
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("PUT /api/v1/datasets/acme/huge HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                    + developer + "\r\nContent-Type: application/jsonl\r\nContent-Length: " + (1L << 40)
                    + "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(answer).startsWith("HTTP/1.1 413").contains("larger than", "the most one may hold");
        }
        assertThat(factory.get("/api/v1/datasets/acme/huge", factory.adminKey()).statusCode()).isEqualTo(404);
    }

    @Test
    void invokersAndAuditorsMayNotTouchDatasets() {
        assertThat(upload("acme/mine", invoker, CHATS, "").statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/datasets", invoker).statusCode()).isEqualTo(403);
        assertThat(upload("acme/readable", developer, TEXT, "").statusCode()).isEqualTo(201);
        HttpResponse<String> refused = factory.get("/api/v1/datasets/acme/readable", invoker);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(json(refused).at("/error/message").asText()).contains("may not readDataset");
        assertThat(delete("acme/readable", invoker).statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/datasets/acme/readable", auditor).statusCode()).isEqualTo(403);
        assertThat(upload("acme/elsewhere", developer, TEXT, "?project=rivals").statusCode())
                .as("a developer uploads into its own project only").isEqualTo(403);
        assertThat(factory.get("/api/v1/datasets/acme/readable", developer).statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/datasets/acme/mine", factory.adminKey()).statusCode()).isEqualTo(404);
    }

    @Test
    void aProjectsDatasetsAreDeletedAndShreddedWithIt() throws IOException {
        assertThat(factory.post("/api/v1/projects", factory.adminKey(), "{\"name\":\"doomed\"}").statusCode())
                .isEqualTo(201);
        HttpResponse<String> r = upload("doomed/chats", factory.adminKey(), CHATS, "?project=doomed");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(json(r).path("project").asText()).isEqualTo("doomed");
        assertThat(home.resolve("blobs").resolve("keyed").resolve("doomed")).isDirectory();

        HttpResponse<String> gone = factory.send(factory.request("/api/v1/projects/doomed", factory.adminKey()).DELETE());
        assertThat(gone.statusCode()).as(gone.body()).isEqualTo(200);
        assertThat(factory.get("/api/v1/datasets/doomed/chats", factory.adminKey()).statusCode()).isEqualTo(404);
        assertThat(json(factory.get("/api/v1/datasets", factory.adminKey())).path("datasets")
                .findValuesAsText("project")).doesNotContain("doomed");
        assertThat(home.resolve("blobs").resolve("keyed").resolve("doomed")).doesNotExist();
        assertThat(upload("doomed/chats", factory.adminKey(), CHATS, "").statusCode())
                .as("the name is free again").isEqualTo(201);
    }

    @Test
    void datasetsOutliveARestart(@TempDir Path otherHome) throws IOException {
        String sha256;
        try (TestFactory first = TestFactory.start(otherHome)) {
            HttpResponse<String> r = first.send(first.request("/api/v1/datasets/acme/kept", first.adminKey())
                    .PUT(HttpRequest.BodyPublishers.ofString(CHATS)));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            sha256 = json(r).path("sha256").asText();
        }
        // The start-up sweep keeps what a dataset names: its blob and its key.
        try (TestFactory second = TestFactory.start(otherHome)) {
            assertThat(json(second.get("/api/v1/datasets/acme/kept", second.adminKey())).path("sha256").asText())
                    .isEqualTo(sha256);
            assertThat(otherHome.resolve("blobs").resolve("keyed").resolve("default").resolve(sha256.substring(0, 2))
                    .resolve(sha256)).isRegularFile();
            assertThat(second.factory().datasets().examples(new ai.factory.training.DatasetRef(
                    ai.factory.training.DatasetName.parse("acme/kept"), sha256))).hasSize(2);
        }
    }

    @Test
    void theRoutesAreInTheOpenApiDocument() {
        JsonNode paths = json(factory.get("/api/v1/openapi.json", null)).path("paths");
        assertThat(paths.path("/api/v1/datasets").has("get")).isTrue();
        JsonNode one = paths.path("/api/v1/datasets/{namespace}/{name}");
        assertThat(one.has("get")).isTrue();
        assertThat(one.has("put")).isTrue();
        assertThat(one.has("delete")).isTrue();
    }
}
