package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.config.Setting;
import ai.factory.security.audit.AuditAnchor;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit hook, {@code /api/v1/audit[/verify|/public-key]} and {@code /api/v1/sovereignty/report} against a
 * real factory: what a call leaves in the trail, who may read it, and bad input on every new endpoint.
 */
@ServerTest
class AuditApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static String invoker;
    static String auditor;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.withBuiltin(Map.of(Setting.AUDIT_DIGEST_EVERY, "3")));
        invoker = json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"app\"}")).path("secret").asText();
        auditor = json(factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\":\"officer\",\"role\":\"auditor\"}")).path("secret").asText();
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** Waits until the trail holds a record with this request id (records are written after the response). */
    private static JsonNode recordOf(String requestId) {
        await().atMost(Duration.ofMinutes(1)).until(() -> find(requestId) != null);
        return find(requestId);
    }

    private static JsonNode find(String requestId) {
        JsonNode records = json(factory.get("/api/v1/audit?limit=1000", auditor)).path("records");
        return StreamSupport.stream(records.spliterator(), false)
                .filter(r -> r.path("requestId").asText().equals(requestId)).findFirst().orElse(null);
    }

    @Test
    void aModelCallLeavesWhoWhatBytesAndTokensButNoText() {
        String body = "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"a secret sentence nobody may log\"}";
        HttpResponse<String> r = factory.send(factory.request("/v1/embeddings", invoker)
                .header("Content-Type", "application/json").header("X-Request-Id", "emb-call-1")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("X-Request-Id")).contains("emb-call-1");

        JsonNode rec = recordOf("emb-call-1");
        assertThat(rec.path("principalName").asText()).isEqualTo("app");
        assertThat(rec.path("project").asText()).isEqualTo("default");
        assertThat(rec.path("action").asText()).isEqualTo("invoke");
        assertThat(rec.path("detail").asText()).isEqualTo("POST /v1/embeddings");
        assertThat(rec.path("resource").asText()).isEqualTo("model=builtin/all-minilm-l6-v2");
        assertThat(rec.path("decision").asText()).isEqualTo("allow");
        assertThat(rec.path("outcome").asText()).isEqualTo("success");
        assertThat(rec.path("status").asInt()).isEqualTo(200);
        assertThat(rec.path("client").asText()).isEqualTo("127.0.0.1");
        assertThat(rec.path("bytesIn").asLong()).isEqualTo(body.getBytes(StandardCharsets.UTF_8).length);
        assertThat(rec.path("bytesOut").asLong()).isEqualTo(r.body().getBytes(StandardCharsets.UTF_8).length);
        assertThat(rec.path("promptTokens").asLong()).isEqualTo(json(r).at("/usage/prompt_tokens").asLong()).isPositive();
        assertThat(rec.path("hash").asText()).hasSize(64);
        assertThat(rec.toString()).doesNotContain("secret sentence");
    }

    @Test
    void aRefusedUploadIsRecordedAsTheClientGotIt() {
        // An invoker may not upload: it gets 403 before its body is read (Expect: 100-continue), and the record says
        // what it got (before, the failed exchange was recorded as allowed, status 0).
        byte[] body = new byte[4 << 20];
        HttpResponse<String> r = factory.send(factory.request("/api/v1/models/acme/refused/versions", invoker)
                .header("Content-Type", "application/octet-stream").header("X-Request-Id", "refused-upload-1")
                .expectContinue(true).PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        JsonNode rec = recordOf("refused-upload-1");
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("status").asInt()).isEqualTo(403);
        assertThat(rec.path("outcome").asText()).isEqualTo("failure");
        assertThat(rec.path("bytesOut").asLong()).isPositive();
    }

    @Test
    void theResourceIsTheRoutesPathParameters() {
        HttpResponse<String> r = factory.send(factory.request("/v1/models/builtin/all-minilm-l6-v2", invoker)
                .header("X-Request-Id", "model-get-1").GET());
        assertThat(r.statusCode()).as(r.body()).isIn(200, 404);
        JsonNode rec = recordOf("model-get-1");
        assertThat(rec.path("action").asText()).isEqualTo("readModel");
        assertThat(rec.path("detail").asText()).isEqualTo("GET /v1/models/<id>");
        assertThat(rec.path("resource").asText()).isEqualTo("id=builtin/all-minilm-l6-v2");
    }

    @Test
    void refusedCallsAreRecordedAsDenied() {
        factory.send(factory.request("/api/v1/keys", null).header("X-Request-Id", "no-key-1").GET());
        JsonNode anonymous = recordOf("no-key-1");
        assertThat(anonymous.path("principalId").asText()).isEqualTo("anonymous");
        assertThat(anonymous.path("decision").asText()).isEqualTo("deny");
        assertThat(anonymous.path("outcome").asText()).isEqualTo("failure");
        assertThat(anonymous.path("status").asInt()).isEqualTo(401);

        factory.send(factory.request("/api/v1/audit", invoker).header("X-Request-Id", "forbidden-1").GET());
        JsonNode forbidden = recordOf("forbidden-1");
        assertThat(forbidden.path("principalName").asText()).isEqualTo("app");
        assertThat(forbidden.path("decision").asText()).isEqualTo("deny");
        assertThat(forbidden.path("status").asInt()).isEqualTo(403);
    }

    @Test
    void aRequestIdThatIsNotAPlainTokenIsReplaced() {
        HttpResponse<String> r = factory.send(factory.request("/api/v1/fleet", invoker)
                .header("X-Request-Id", "bad id with spaces").GET());
        assertThat(r.headers().firstValue("X-Request-Id").orElseThrow()).isNotEqualTo("bad id with spaces")
                .matches("[0-9a-f-]{36}");
    }

    @Test
    void onlyAdminsAndAuditorsReadTheTrail() {
        for (String path : List.of("/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/public-key",
                "/api/v1/audit/anchor", "/api/v1/audit/chain", "/api/v1/audit/chain/records",
                "/api/v1/audit/chain/digests", "/api/v1/sovereignty/report")) {
            HttpResponse<String> denied = factory.get(path, invoker);
            assertThat(denied.statusCode()).as(path).isEqualTo(403);
            assertThat(json(denied).at("/error/message").asText()).contains("may not readAudit");
            assertThat(factory.get(path, null).statusCode()).as(path).isEqualTo(401);
            assertThat(factory.get(path, auditor).statusCode()).as(path).isEqualTo(200);
            assertThat(factory.get(path, factory.adminKey()).statusCode()).as(path).isEqualTo(200);
        }
        assertThat(factory.post("/api/v1/keys", auditor, "{\"name\":\"x\"}").statusCode()).isEqualTo(403);
    }

    @Test
    void filtersNarrowTheTrail() {
        factory.send(factory.request("/api/v1/fleet", invoker).header("X-Request-Id", "filter-1").GET());
        recordOf("filter-1");
        JsonNode byApp = json(factory.get("/api/v1/audit?principal=app&limit=1000", auditor)).path("records");
        assertThat(byApp).isNotEmpty().allSatisfy(r -> assertThat(r.path("principalName").asText()).isEqualTo("app"));
        JsonNode failures = json(factory.get("/api/v1/audit?outcome=failure", auditor)).path("records");
        assertThat(failures).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("failure"));
        JsonNode fleet = json(factory.get("/api/v1/audit?action=readFleet&project=default", auditor)).path("records");
        assertThat(fleet).isNotEmpty().allSatisfy(r -> assertThat(r.path("action").asText()).isEqualTo("readFleet"));
        assertThat(json(factory.get("/api/v1/audit?limit=1", auditor)).path("records")).hasSize(1);
        assertThat(json(factory.get("/api/v1/audit?from=2000-01-01&to=2000-01-02", auditor)).path("records")).isEmpty();
        JsonNode newestFirst = json(factory.get("/api/v1/audit?limit=5", auditor)).path("records");
        assertThat(newestFirst.get(0).path("seq").asLong()).isGreaterThan(newestFirst.get(1).path("seq").asLong());
    }

    @Test
    void badFiltersAreRefusedAndTheServerKeepsServing() {
        Map<String, String> bad = Map.ofEntries(
                Map.entry("/api/v1/audit?limit=0", "limit"),
                Map.entry("/api/v1/audit?limit=1001", "limit"),
                Map.entry("/api/v1/audit?limit=many", "limit"),
                Map.entry("/api/v1/audit?outcome=maybe", "outcome"),
                Map.entry("/api/v1/audit?from=yesterday", "from"),
                Map.entry("/api/v1/audit?from=2026-01-02&to=2026-01-01", "to"),
                Map.entry("/api/v1/audit?principle=app", "principle"),
                Map.entry("/api/v1/audit?project=a&project=b", "project"),
                Map.entry("/api/v1/audit/verify?to=soon", "to"),
                Map.entry("/api/v1/audit/public-key?format=der", "format"),
                Map.entry("/api/v1/audit/anchor?seq=1", "seq"),
                Map.entry("/api/v1/audit/chain?from=soon", "from"),
                Map.entry("/api/v1/audit/chain?fromSeq=1", "fromSeq"),
                Map.entry("/api/v1/audit/chain/records?fromSeq=0", "fromSeq"),
                Map.entry("/api/v1/audit/chain/records?toSeq=last", "toSeq"),
                Map.entry("/api/v1/audit/chain/records?limit=1001", "limit"),
                Map.entry("/api/v1/audit/chain/records?from=2026-01-01", "from"),
                Map.entry("/api/v1/audit/chain/digests?limit=101", "limit"),
                Map.entry("/api/v1/audit/chain/digests?recordHashes=yes", "recordHashes"));
        bad.forEach((path, param) -> {
            HttpResponse<String> r = factory.get(path, auditor);
            assertThat(r.statusCode()).as(path).isEqualTo(400);
            assertThat(json(r).at("/error/param").asText()).as(path).isEqualTo(param);
            assertThat(json(r).at("/error/message").asText()).as(path).isNotBlank();
        });
        HttpResponse<String> report = factory.get("/api/v1/sovereignty/report?verbose=1", auditor);
        assertThat(report.statusCode()).isEqualTo(400);
        assertThat(factory.get("/api/v1/audit?project=" + "p".repeat(301), auditor).statusCode()).isEqualTo(400);
        assertThat(factory.send(factory.request("/api/v1/audit", auditor).POST(HttpRequest.BodyPublishers.ofString("{}")))
                .statusCode()).isIn(404, 405);
        assertThat(factory.get("/api/v1/audit", auditor).statusCode()).isEqualTo(200);
    }

    @Test
    void verifyReportsTheChainAndThePublicKeyIsTheOneOnDisk() throws Exception {
        factory.send(factory.request("/api/v1/fleet", invoker).header("X-Request-Id", "verify-1").GET());
        recordOf("verify-1");
        JsonNode v = json(factory.get("/api/v1/audit/verify", auditor));
        assertThat(v.path("ok").asBoolean()).as(v.toString()).isTrue();
        assertThat(v.path("records").asLong()).isPositive();
        assertThat(v.path("digests").asLong()).isPositive();
        assertThat(v.has("problem")).isFalse();
        JsonNode ranged = json(factory.get("/api/v1/audit/verify?from=2000-01-01", auditor));
        assertThat(ranged.path("ok").asBoolean()).isTrue();

        JsonNode key = json(factory.get("/api/v1/audit/public-key", auditor));
        assertThat(key.path("algorithm").asText()).isEqualTo("Ed25519");
        assertThat(key.path("pem").asText()).isEqualTo(Files.readString(home.resolve("audit.pub")));
        assertThat(key.path("keyId").asText()).hasSize(16);
    }

    @Test
    void theAnchorIsTheNewestDigestAndTheChainIsServedAsStoredForAVerifier() {
        factory.send(factory.request("/api/v1/fleet", invoker).header("X-Request-Id", "anchor-1").GET());
        recordOf("anchor-1");
        JsonNode anchor = json(factory.get("/api/v1/audit/anchor", auditor));
        AuditAnchor parsed = AuditAnchor.parse(anchor.path("anchor").asText());
        assertThat(parsed.seq()).isEqualTo(anchor.path("seq").asLong()).isPositive();
        assertThat(parsed.keyId()).isEqualTo(json(factory.get("/api/v1/audit/public-key", auditor)).path("keyId")
                .asText());

        JsonNode chain = json(factory.get("/api/v1/audit/chain", auditor));
        assertThat(chain.path("headSeq").asLong()).isGreaterThanOrEqualTo(parsed.seq());
        assertThat(chain.at("/lastDigest/lastSeq").asLong()).isGreaterThanOrEqualTo(parsed.seq());
        assertThat(chain.has("rangeFirstSeq")).isFalse();
        assertThat(json(factory.get("/api/v1/audit/chain?from=2000-01-01", auditor)).path("rangeFirstSeq").asLong())
                .isEqualTo(1);

        JsonNode records = json(factory.get("/api/v1/audit/chain/records?fromSeq=1&limit=3", auditor)).path("records");
        assertThat(records).extracting(r -> r.path("seq").asLong()).containsExactly(1L, 2L, 3L);
        assertThat(records.get(0).path("action").asText()).isEqualTo("audit.start");
        assertThat(records.get(1).path("prevHash").asText()).isEqualTo(records.get(0).path("hash").asText());

        JsonNode digests = json(factory.get("/api/v1/audit/chain/digests?fromSeq=1&toSeq=" + parsed.seq()
                + "&recordHashes=true", auditor)).path("digests");
        assertThat(digests).isNotEmpty();
        JsonNode last = digests.get(digests.size() - 1);
        assertThat(last.path("lastSeq").asLong()).isEqualTo(parsed.seq());
        assertThat(last.path("hash").asText()).isEqualTo(parsed.digestHash());
        assertThat(last.path("every").asInt()).isEqualTo(3);
        assertThat(last.path("recordHashes").asText()).hasSize(16 * last.path("count").asInt());
        for (int i = 1; i < digests.size(); i++) {
            assertThat(digests.get(i).path("prevDigest").asText()).isEqualTo(digests.get(i - 1).path("hash").asText());
            assertThat(digests.get(i).path("firstSeq").asLong()).isEqualTo(digests.get(i - 1).path("lastSeq").asLong() + 1);
        }
        assertThat(json(factory.get("/api/v1/audit/chain/digests?fromSeq=1", auditor)).path("digests").get(0)
                .has("recordHashes")).as("only when asked").isFalse();

        JsonNode v = json(factory.get("/api/v1/audit/verify", auditor));
        assertThat(v.path("cadence").path("every").asInt()).isEqualTo(3);
        assertThat(v.path("cadence").path("interval").asText()).isEqualTo("PT5M");
        assertThat(v.path("latestAnchor").asText()).startsWith("fa1:");
    }

    @Test
    void refusedEgressIsRecordedAndReported() {
        URI target = URI.create("http://127.0.0.1:9/exfiltrate");
        assertThatThrownBy(() -> factory.factory().egress().send(HttpRequest.newBuilder(target)
                .POST(HttpRequest.BodyPublishers.ofString("weights")).build(), "test upload"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN))
                .hasMessageContaining("127.0.0.1:9").hasMessageContaining("egress.allow");
        await().atMost(Duration.ofMinutes(1)).until(() ->
                !json(factory.get("/api/v1/audit?action=egress.http", auditor)).path("records").isEmpty());
        JsonNode rec = json(factory.get("/api/v1/audit?action=egress.http", auditor)).path("records").get(0);
        assertThat(rec.path("resource").asText()).isEqualTo("127.0.0.1:9");
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("detail").asText()).contains("test upload").contains("POST");

        JsonNode report = json(factory.get("/api/v1/sovereignty/report", auditor));
        assertThat(report.at("/egress/allow")).isEmpty();
        JsonNode attempt = report.at("/egress/attempts").get(0);
        assertThat(attempt.path("destination").asText()).isEqualTo("127.0.0.1:9");
        assertThat(attempt.path("decision").asText()).isEqualTo("deny");
        assertThat(attempt.path("attempts").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(report.at("/dataClassification/models/internal").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(report.path("keyProviders")).extracting(k -> k.path("name").asText())
                .contains("site master key", "site key-encryption key", "audit signing key");
        assertThat(report.at("/audit/ok").asBoolean()).isTrue();
        assertThat(report.at("/auditAtStart/ok").asBoolean()).isTrue();
        assertThat(report.at("/auditAtStart/accepted").asBoolean()).isFalse();
    }

    @Test
    void metricsCountTheTrail() {
        await().atMost(Duration.ofMinutes(1)).until(() ->
                factory.get("/metrics", factory.adminKey()).body().matches("(?s).*factory_audit_records_total [1-9].*"));
        assertThat(factory.get("/metrics", factory.adminKey()).body()).contains("factory_audit_dropped_total 0.0")
                .contains("factory_audit_queue");
    }
}
