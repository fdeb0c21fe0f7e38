package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Content logging against a real factory: a project that opts in keeps the text of its inference calls, encrypted
 * under its own key and named in the calls' hash-chained audit records; auditors read it back; other projects'
 * calls stay metadata only; deleting the project shreds it.
 */
@ServerTest
class ContentLoggingApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static String logged;
    static String quiet;
    static String auditor;
    static String developer;

    @BeforeAll
    static void start() {
        Path model = TestModels.tinyLlama();
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        String admin = factory.adminKey();
        factory.projectWithModel("logged", model);
        factory.projectWithModel("quiet", model);
        logged = key("app", "logged", "invoker");
        developer = key("dev", "logged", "developer");
        quiet = key("app", "quiet", "invoker");
        auditor = key("officer", "default", "auditor");
        HttpResponse<String> on = patch("/api/v1/projects/logged", admin, "{\"contentLogging\": true}");
        assertThat(on.statusCode()).as(on.body()).isEqualTo(200);
        assertThat(json(on).path("contentLogging").asBoolean()).isTrue();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static String key(String name, String project, String role) {
        return factory.createKey(name, project, role);
    }

    static HttpResponse<String> patch(String path, String key, String body) {
        return factory.send(factory.request(path, key).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body)));
    }

    private static HttpResponse<String> chat(String key, String model, String requestId, String text, boolean stream) {
        return factory.send(factory.request("/v1/chat/completions", key).header("Content-Type", "application/json")
                .header("X-Request-Id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"max_tokens\":8,"
                        + "\"temperature\":0,\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\""
                        + text + "\"}]}")));
    }

    private static JsonNode recordOf(String requestId) {
        return factory.auditRecord(requestId, auditor);
    }

    private static String contentDigest(JsonNode record) {
        String detail = record.path("detail").asText();
        assertThat(detail).matches("POST /v1/chat/completions content=sha256:[0-9a-f]{64}");
        return detail.substring(detail.length() - 64);
    }

    /** The text a streamed chat answer carried, from its SSE frames. */
    private static String streamedText(String sse) {
        StringBuilder text = new StringBuilder();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: {")) {
                try {
                    text.append(Json.mapper().readTree(line.substring(6)).at("/choices/0/delta/content").asText(""));
                } catch (IOException e) {
                    throw new AssertionError("not a JSON frame: " + line, e);
                }
            }
        }
        return text.toString();
    }

    @Test
    void contentPastTheSitesRetentionIsDestroyedAndTheTrailSaysSo(@TempDir Path otherHome) {
        try (TestFactory brief = TestFactory.start(otherHome, TestFactory.withBuiltin(Map.of(Setting.AUDIT_CONTENT_RETENTION, "2s")))) {
            String admin = brief.adminKey();
            brief.projectWithModel("brief", TestModels.tinyLlama());
            String app = brief.createKey("app", "brief", "invoker");
            HttpResponse<String> on = brief.send(brief.request("/api/v1/projects/brief", admin)
                    .header("Content-Type", "application/json")
                    .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"contentLogging\": true}")));
            assertThat(on.statusCode()).as(on.body()).isEqualTo(200);
            HttpResponse<String> answer = brief.send(brief.request("/v1/chat/completions", app)
                    .header("Content-Type", "application/json").header("X-Request-Id", "brief-1")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"brief/tiny\",\"max_tokens\":4,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"short-lived\"}]}")));
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            String digest = contentDigest(brief.auditRecord("brief-1", admin));

            await().atMost(Duration.ofSeconds(60)).until(() ->
                    brief.get("/api/v1/audit/content/brief/" + digest, admin).statusCode() == 404);
            HttpResponse<String> gone = brief.get("/api/v1/audit/content/brief/" + digest, admin);
            assertThat(json(gone).at("/error/message").asText()).contains("audit.contentRetention");
            JsonNode expired = json(brief.get("/api/v1/audit?action=audit.expireContent&project=brief", admin));
            assertThat(expired.path("records")).singleElement().satisfies(r -> {
                assertThat(r.path("principalId").asText()).isEqualTo("system");
                assertThat(r.path("detail").asText()).startsWith("1 call(s)' content older than PT2S destroyed");
            });
            // The call's own record stays, naming content that is no more.
            assertThat(brief.auditRecord("brief-1", admin).path("detail").asText()).endsWith(digest);
        }
    }

    @Test
    void aLoggingProjectsCallsKeepTheirRequestAndOutputForAuditors() {
        HttpResponse<String> answer = chat(logged, "logged/tiny", "logged-1", "the quarterly figures are 42", false);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        HttpResponse<String> streamed = chat(logged, "logged/tiny", "logged-2", "and the streamed one", true);
        assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);

        String first = contentDigest(recordOf("logged-1"));
        JsonNode content = json(factory.get("/api/v1/audit/content/logged/" + first, auditor));
        assertThat(content.path("requestId").asText()).isEqualTo("logged-1");
        assertThat(content.at("/content/request/messages/0/content").asText()).isEqualTo("the quarterly figures are 42");
        assertThat(content.at("/content/output").asText())
                .isEqualTo(json(answer).at("/choices/0/message/content").asText()).isNotEmpty();
        assertThat(content.at("/content/route").asText()).isEqualTo("POST /v1/chat/completions");

        String second = contentDigest(recordOf("logged-2"));
        JsonNode streamedContent = json(factory.get("/api/v1/audit/content/logged/" + second, auditor));
        assertThat(streamedContent.at("/content/output").asText()).isEqualTo(streamedText(streamed.body())).isNotEmpty();
        assertThat(streamedContent.at("/content/request/stream").asBoolean()).isTrue();

        // Admins read it too; nobody else does, not even the project's own developers.
        assertThat(factory.get("/api/v1/audit/content/logged/" + first, factory.adminKey()).statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/audit/content/logged/" + first, developer).statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/audit/content/logged/" + first, logged).statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/audit/content/logged/" + first, key("lead", "quiet", "project-admin"))
                .statusCode()).as("another project's admin").isEqualTo(403);
    }

    @Test
    void aCallOfSeveralChoicesKeepsTheOutputOfEach() {
        HttpResponse<String> answer = factory.send(factory.request("/v1/chat/completions", logged)
                .header("Content-Type", "application/json").header("X-Request-Id", "logged-n")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"logged/tiny\",\"max_tokens\":8,\"n\":2,"
                        + "\"seed\":5,\"messages\":[{\"role\":\"user\",\"content\":\"two ways to say it\"}]}")));
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);

        JsonNode content = json(factory.get("/api/v1/audit/content/logged/" + contentDigest(recordOf("logged-n")), auditor));
        JsonNode output = content.at("/content/output");
        assertThat(output.isArray()).as(output.toString()).isTrue();
        assertThat(output).hasSize(2);
        for (int i = 0; i < 2; i++) {
            assertThat(output.get(i).asText()).as("choice %d", i)
                    .isEqualTo(json(answer).at("/choices/" + i + "/message/content").asText());
        }
        assertThat(output.get(0).asText()).isNotEqualTo(output.get(1).asText());
    }

    @Test
    void theContentIsEncryptedAtRestAndTheChainNamesItsDigest() throws IOException {
        String secret = "a phrase that must never lie on disk in clear";
        assertThat(chat(logged, "logged/tiny", "logged-disk", secret, false).statusCode()).isEqualTo(200);
        String digest = contentDigest(recordOf("logged-disk"));

        try (Stream<Path> files = Files.walk(home)) {
            List<Path> regular = files.filter(Files::isRegularFile).toList();
            for (Path f : regular) {
                if (Files.size(f) < 64 << 20) {
                    assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as("%s", f)
                            .doesNotContain(secret);
                }
            }
        }
        // The record that names the digest is part of the verified chain.
        JsonNode verify = json(factory.get("/api/v1/audit/verify", auditor));
        assertThat(verify.path("ok").asBoolean()).as("%s", verify).isTrue();
        assertThat(json(factory.get("/api/v1/audit/content/logged/" + digest, auditor)).at("/content/request/messages/0/content")
                .asText()).isEqualTo(secret);
    }

    @Test
    void aSitePolicyCanHoldAuditorsToTheirOwnProject() {
        assertThat(chat(logged, "logged/tiny", "logged-scoped", "for logged's auditors only", false).statusCode())
                .isEqualTo(200);
        String digest = contentDigest(recordOf("logged-scoped"));
        String quietAuditor = key("quiet-officer", "quiet", "auditor");
        assertThat(factory.get("/api/v1/audit/content/logged/" + digest, quietAuditor).statusCode()).isEqualTo(200);

        String policy = "forbid (principal in Role::\"auditor\", action == Action::\"readAudit\", resource) "
                + "when { !(resource in principal.project) };";
        HttpResponse<String> added = factory.post("/api/v1/policies", factory.adminKey(), "{\"policy\":"
                + Json.mapper().valueToTree(policy) + "}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        try {
            assertThat(factory.get("/api/v1/audit/content/logged/" + digest, quietAuditor).statusCode())
                    .as("the content is the named project's, whatever the caller's project").isEqualTo(403);
            // The auditor's own calls are records of its project, written once their responses are complete.
            await().atMost(Duration.ofMinutes(1)).until(() -> json(factory.get("/api/v1/audit?limit=1000", quietAuditor))
                    .path("records").findValuesAsText("project").contains("quiet"));
            assertThat(json(factory.get("/api/v1/audit?limit=1000", quietAuditor)).path("records")
                    .findValuesAsText("project")).as("and so are the records").containsOnly("quiet");
            HttpResponse<String> chain = factory.get("/api/v1/audit/chain/records", quietAuditor);
            assertThat(chain.statusCode()).as("the whole chain holds other projects' records").isEqualTo(403);
            assertThat(json(chain).at("/error/message").asText()).contains("whose audit records you may not read");
        } finally {
            assertThat(factory.send(factory.request("/api/v1/policies/" + json(added).path("id").asText(),
                    factory.adminKey()).DELETE()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aStreamTheClientDropsStillLeavesItsTokensAndContentSoFar() throws Exception {
        URI url = URI.create(factory.url());
        String body = "{\"model\":\"logged/tiny\",\"max_tokens\":200,\"ignore_eos\":true,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"walk away mid-answer\"}]}";
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: " + url.getAuthority() + "\r\nAuthorization: Bearer "
                    + logged + "\r\nX-Request-Id: dropped-1\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            int frames = 0;
            for (String line; frames < 3 && (line = in.readLine()) != null; ) {
                if (line.startsWith("data: {")) {
                    frames++;
                }
            }
            assertThat(frames).isEqualTo(3);
        }
        JsonNode rec = recordOf("dropped-1");
        assertThat(rec.path("promptTokens").asLong()).isPositive();
        // Usually fewer than asked for (the engine stops once a write finds the client gone); all 200 when the
        // socket's buffers took the whole answer before the client closed. Either way the tokens are counted.
        assertThat(rec.path("completionTokens").asLong()).as("tokens generated before the client left")
                .isPositive().isLessThanOrEqualTo(200);
        JsonNode content = json(factory.get("/api/v1/audit/content/logged/" + contentDigest(recordOf("dropped-1")),
                auditor));
        assertThat(content.at("/content/request/messages/0/content").asText()).isEqualTo("walk away mid-answer");
        assertThat(content.at("/content/output").asText()).isNotEmpty();
    }

    @Test
    void contentThatCannotBeKeptIsMarkedInTheRecordAndTheRequestStillEnds() throws IOException {
        Path tmp = home.resolve("blobs").resolve("tmp");
        Path aside = home.resolve("tmp-aside");
        Files.move(tmp, aside);
        Files.writeString(tmp, "not a folder: the blob store can't stage anything");
        try {
            HttpResponse<String> r = factory.send(factory.request("/v1/embeddings", logged)
                    .header("Content-Type", "application/json").header("X-Request-Id", "unkept-1")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"builtin/all-minilm-l6-v2\",\"input\":\"nowhere to keep this\"}")));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        } finally {
            Files.delete(tmp);
            Files.move(aside, tmp);
        }
        assertThat(recordOf("unkept-1").path("detail").asText()).isEqualTo("POST /v1/embeddings content=failed");
        // The request left the drain, so a shutdown does not wait for it: the only request in flight is the scrape.
        assertThat(factory.get("/metrics", factory.adminKey()).body()).contains("factory_http_requests_in_flight 1.0");
    }

    @Test
    void otherProjectsStayMetadataOnly() {
        assertThat(chat(quiet, "quiet/tiny", "quiet-1", "nothing of this is kept", false).statusCode()).isEqualTo(200);
        JsonNode rec = recordOf("quiet-1");
        assertThat(rec.path("detail").asText()).isEqualTo("POST /v1/chat/completions");
        assertThat(rec.toString()).doesNotContain("nothing of this");
    }

    @Test
    void badRequestsAreRefusedAndNothingElseIsServedAsContent() {
        String admin = factory.adminKey();
        assertThat(patch("/api/v1/projects/logged", admin, "{\"contentLogging\": \"yes\"}").statusCode()).isEqualTo(400);
        assertThat(patch("/api/v1/projects/logged", admin, "{}").statusCode()).isEqualTo(400);
        assertThat(patch("/api/v1/projects/logged", admin, "{\"contentLogging\": true, \"name\": \"x\"}").body())
                .contains("'name' can't be changed");
        assertThat(patch("/api/v1/projects/logged", admin, "not json").statusCode()).isEqualTo(400);
        assertThat(patch("/api/v1/projects/nowhere", admin, "{\"contentLogging\": true}").statusCode()).isEqualTo(404);
        assertThat(patch("/api/v1/projects/logged", developer, "{\"contentLogging\": false}").statusCode()).isEqualTo(403);
        assertThat(patch("/api/v1/projects/logged", auditor, "{\"contentLogging\": false}").statusCode()).isEqualTo(403);

        assertThat(factory.get("/api/v1/audit/content/logged/not-a-digest", auditor).statusCode()).isEqualTo(400);
        assertThat(factory.get("/api/v1/audit/content/logged/" + "0".repeat(64), auditor).statusCode()).isEqualTo(404);
        // The project's model weights are its blobs too, but never content.
        String weights = json(factory.get("/api/v1/models/logged/tiny", admin)).at("/versions/0/files/0/sha256").asText();
        assertThat(weights).hasSize(64);
        HttpResponse<String> asContent = factory.get("/api/v1/audit/content/logged/" + weights, auditor);
        assertThat(asContent.statusCode()).as(asContent.body()).isEqualTo(404);
        assertThat(json(factory.get("/api/v1/projects/logged", admin)).path("contentLogging").asBoolean()).isTrue();
    }

    @Test
    void deletingTheProjectShredsItsContent() {
        String admin = factory.adminKey();
        factory.projectWithModel("brief", TestModels.tinyLlama());
        assertThat(patch("/api/v1/projects/brief", admin, "{\"contentLogging\": true}").statusCode()).isEqualTo(200);
        String briefKey = key("app", "brief", "invoker");
        assertThat(chat(briefKey, "brief/tiny", "brief-1", "short-lived words", false).statusCode()).isEqualTo(200);
        String digest = contentDigest(recordOf("brief-1"));
        assertThat(factory.get("/api/v1/audit/content/brief/" + digest, auditor).statusCode()).isEqualTo(200);

        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/projects/brief", admin).DELETE());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertThat(factory.get("/api/v1/audit/content/brief/" + digest, auditor).statusCode()).isEqualTo(404);
        assertThat(home.resolve("blobs/keyed/brief")).doesNotExist();
    }
}
