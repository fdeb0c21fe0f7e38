package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.cluster.Nodes;
import ai.factory.cluster.Worker;
import ai.factory.config.Setting;
import ai.factory.storage.TestDatabases;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers join a control plane on PostgreSQL: a join token (shown once, stored hashed) buys a worker a client
 * certificate from the cluster CA for a key the worker made and keeps; from then on the worker reports over mutual
 * TLS, and nodes show up, go down when they miss the heartbeat deadline, drain, and are removed, their certificate
 * refused from then on. Wrong, used-up and revoked tokens, and bad requests, are refused and audited, and take no
 * use of a token; a factory on H2 takes no workers. Workers here are the worker's own class in this JVM, each with a
 * home of its own.
 */
@ServerTest
class ClusterJoinTest {
    private static final String TOKENS = "/api/v1/nodes/tokens";
    private static final Map<String, Object> INVENTORY = Map.of("name", "test", "cpu", Map.of("cores", 2));

    @TempDir
    static Path dir;

    static TestDatabases.Scratch database;
    static TestFactory factory;
    static String admin;

    @BeforeAll
    static void start() {
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        Map<Setting, String> settings = TestCluster.onDatabase(database);
        settings.put(Setting.CLUSTER_PORT, "0");
        settings.put(Setting.CLUSTER_HEARTBEAT_DEADLINE, "2s");
        factory = TestFactory.start(dir.resolve("control"), settings);
        admin = factory.adminKey();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory, database);
    }

    private static String token(int uses) {
        HttpResponse<String> r = factory.post(TOKENS, admin, "{\"expires\": \"1h\", \"uses\": " + uses + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String secret = json(r).path("token").asText();
        assertThat(secret).startsWith("fjt_" + json(r).path("id").asText() + "_");
        return secret;
    }

    private static Worker worker(String name, String token) {
        return Worker.start(dir.resolve("workers").resolve(name), URI.create(factory.url()), token, name, "test",
                () -> Json.mapper().valueToTree(INVENTORY), Optional.empty());
    }

    private static JsonNode node(String id) {
        return json(factory.get("/api/v1/nodes/" + id, admin));
    }

    /** Waits until the audit records of {@code action} hold each of {@code texts} (records are written in batches). */
    private static void assertAudited(String action, String... texts) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(json(factory.get("/api/v1/audit?action=" + action, admin)).path("records").toString())
                        .contains(texts));
    }

    @Test
    void aWorkerJoinsReportsOverMutualTlsDrainsAndIsRefusedOnceRemoved() throws Exception {
        String token = token(1);
        Worker worker = worker("w1", token);
        String id = worker.joined().nodeId();
        Path files = dir.resolve("workers").resolve("w1").resolve("worker");
        for (String file : new String[] {"node.key", "node.pem", "cluster-ca.pem", "node.json"}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.resolve(file))))
                    .as(file).isEqualTo("rw-------");
        }
        assertThat(Files.readString(files.resolve("node.key"))).contains("PRIVATE KEY");

        JsonNode listed = json(factory.get("/api/v1/nodes", admin)).path("nodes");
        assertThat(listed.findValuesAsText("id")).contains(id);
        assertThat(node(id).path("state").asText()).isEqualTo("ready");
        assertThat(node(id).path("health").asText()).isEqualTo("up");
        assertThat(node(id).path("inventory").path("cpu").path("cores").asInt()).isEqualTo(2);
        assertThat(worker.heartbeat("test-2", Json.mapper().valueToTree(Map.of("name", "later")))).isEqualTo("ready");
        assertThat(node(id).path("version").asText()).isEqualTo("test-2");
        assertAudited(Nodes.AUDIT_JOINED, id, "w1");

        Worker again = Worker.start(dir.resolve("workers").resolve("w1"), URI.create(factory.url()), null, "w1",
                "test", () -> Json.mapper().valueToTree(INVENTORY), Optional.empty());
        assertThat(again.joined().nodeId()).as("a restart finds what joining gave it").isEqualTo(id);

        assertThatThrownBy(() -> worker("w2", token)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("not valid");
        assertAudited(Nodes.AUDIT_JOIN_REFUSED, "used up");

        HttpResponse<String> drained = factory.post("/api/v1/nodes/" + id + "/drain", admin, "{}");
        assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
        assertThat(worker.heartbeat("test", Json.mapper().valueToTree(INVENTORY))).isEqualTo("draining");
        // Upgraded and back: the node takes work again.
        HttpResponse<String> resumed = factory.post("/api/v1/nodes/" + id + "/resume", admin, "{}");
        assertThat(resumed.statusCode()).as(resumed.body()).isEqualTo(200);
        assertThat(worker.heartbeat("test", Json.mapper().valueToTree(INVENTORY))).isEqualTo("ready");
        assertAudited(Nodes.AUDIT_RESUMED, "by ");
        assertThat(factory.post("/api/v1/nodes/" + id + "/resume", admin, "{}").statusCode()).as("idempotent")
                .isEqualTo(200);
        // The worker stops (an upgrade): it says so, and the node leaves; started again, it is back by itself.
        assertThat(worker.leave()).as("no other worker here to take its replicas").isZero();
        assertThat(node(id).path("state").asText()).isEqualTo("leaving");
        assertAudited(Nodes.AUDIT_LEAVING, "the worker is stopping");
        assertThat(worker.heartbeat("test", Json.mapper().valueToTree(INVENTORY))).as("still this process")
                .isEqualTo("leaving");
        assertThat(again.heartbeat("test", Json.mapper().valueToTree(INVENTORY))).as("started again").isEqualTo("ready");
        assertAudited(Nodes.AUDIT_RESUMED, "started again after it left");
        assertThat(factory.post("/api/v1/nodes/" + id + "/drain", admin, "{}").statusCode()).isEqualTo(200);
        worker.leave();
        assertThat(node(id).path("state").asText()).as("an admin's drain stays").isEqualTo("draining");

        assertThat(factory.send(factory.request("/api/v1/nodes/" + id, admin).DELETE()).statusCode()).isEqualTo(200);
        assertThat(node(id).path("state").asText()).isEqualTo("removed");
        assertThatThrownBy(() -> worker.heartbeat("test", Json.mapper().valueToTree(INVENTORY)))
                .isInstanceOf(FactoryException.class).hasMessageContaining("refused this node");
        assertAudited(Nodes.AUDIT_CERTIFICATE_REFUSED, "belongs to no node");
        assertAudited(Nodes.AUDIT_REMOVED, id);
        HttpResponse<String> gone = factory.post("/api/v1/nodes/" + id + "/resume", admin, "{}");
        assertThat(gone.statusCode()).as("a removed node joins again instead").isEqualTo(409);
        assertThat(gone.body()).contains("joins again with a new token");
    }

    @Test
    void aNodeThatStopsReportingIsShownDown() {
        Worker quiet = worker("quiet", token(1));
        String id = quiet.joined().nodeId();
        assertThat(node(id).path("health").asText()).isEqualTo("up");
        await().atMost(Duration.ofSeconds(20)).until(() -> node(id).path("health").asText().equals("down"));
        assertThat(node(id).path("state").asText()).as("down is health, not a decision").isEqualTo("ready");
    }

    @Test
    void badTokensAndRequestsAreRefusedAuditedAndTakeNoUse() {
        String token = token(2);
        String tokenId = token.substring(4, 16);
        HttpResponse<String> garbage = factory.post("/cluster/v1/join", null, "{\"token\": \"" + token + "\", "
                + "\"name\": \"bad-csr\", \"csr\": \"not a request\", \"version\": \"1\", \"inventory\": {}}");
        assertThat(garbage.statusCode()).as(garbage.body()).isEqualTo(400);
        assertThat(json(garbage).path("error").path("message").asText()).contains("csr");
        HttpResponse<String> badName = factory.post("/cluster/v1/join", null, "{\"token\": \"" + token + "\", "
                + "\"name\": \"Not A Label!\", \"csr\": \"x\", \"version\": \"1\", \"inventory\": {}}");
        assertThat(badName.statusCode()).as(badName.body()).isEqualTo(400);
        assertThat(factory.post("/cluster/v1/join", null, "{\"token\": \"" + token + "\"}").statusCode()).isEqualTo(400);
        assertThat(factory.post("/cluster/v1/join", null, "{").statusCode()).isEqualTo(400);
        JsonNode listed = json(factory.get(TOKENS, admin)).path("tokens");
        JsonNode mine = listed.findParents("id").stream().filter(t -> t.path("id").asText().equals(tokenId))
                .findFirst().orElseThrow();
        assertThat(mine.path("usesLeft").asInt()).as("refused requests take no use").isEqualTo(2);
        assertThat(listed.toString()).doesNotContain(token);

        assertThatThrownBy(() -> worker("forged", "fjt_" + tokenId + "_" + "A".repeat(43)))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not valid");
        assertThatThrownBy(() -> worker("nonsense", "hunter2")).isInstanceOf(FactoryException.class)
                .hasMessageContaining("not valid");
        HttpResponse<String> brief = factory.post(TOKENS, admin, "{\"expires\": \"1s\"}");
        String expiring = json(brief).path("token").asText();
        await().pollDelay(Duration.ofMillis(1100)).atMost(Duration.ofSeconds(5)).until(() -> true);
        assertThatThrownBy(() -> worker("expired", expiring)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("not valid");
        assertThat(factory.send(factory.request(TOKENS + "/" + tokenId, admin).DELETE()).statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> worker("late", token)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("not valid");
        assertAudited(Nodes.AUDIT_JOIN_REFUSED, "secret is wrong", "not a join token", "revoked", "expired at",
                "bad name", "csr");

        for (String body : new String[] {"{\"uses\": 0}", "{\"uses\": 10001}", "{\"expires\": \"soon\"}",
                "{\"expires\": \"31d\"}", "{\"expires\": \"0s\"}"}) {
            HttpResponse<String> r = factory.post(TOKENS, admin, body);
            assertThat(r.statusCode()).as(body + " → " + r.body()).isEqualTo(400);
        }
        String developer = factory.createKey("dev", "default", "developer");
        assertThat(factory.post(TOKENS, developer, "{}").statusCode()).isEqualTo(403);
        assertThat(factory.get("/api/v1/nodes", developer).statusCode()).as("the fleet is readable").isEqualTo(200);
        assertThat(factory.post("/api/v1/nodes/node-none/drain", admin, "{}").statusCode()).isEqualTo(404);
        assertThat(factory.post("/api/v1/nodes/node-none/resume", admin, "{}").statusCode()).isEqualTo(404);
        assertThat(factory.post("/api/v1/nodes/node-none/resume", developer, "{}").statusCode()).isEqualTo(403);
    }

    @Test
    void theCommandLineMakesTokensAndListsNodes() throws Exception {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int status = ai.factory.cli.FactoryCli.run(new java.io.PrintWriter(out), new java.io.PrintWriter(err), "nodes",
                "token", "create", "--expires", "2h", "--uses", "1", "--url", factory.url(), "--key", admin);
        assertThat(status).as(err.toString()).isZero();
        String token = out.toString().lines().map(String::strip).filter(l -> l.startsWith("fjt_")).findFirst()
                .orElseThrow();
        assertThat(out.toString()).contains("factory worker --join " + factory.url() + " --token " + token);
        Worker joined = worker("from-cli", token);
        String id = joined.joined().nodeId();
        // Heard from just now, so that it is up (2 s deadline here) however slowly the machine ran the join.
        assertThat(joined.heartbeat("test", Json.mapper().valueToTree(INVENTORY))).isEqualTo("ready");
        out.getBuffer().setLength(0);
        assertThat(ai.factory.cli.FactoryCli.run(new java.io.PrintWriter(out), new java.io.PrintWriter(err), "nodes",
                "list", "--url", factory.url(), "--key", admin)).isZero();
        assertThat(out.toString()).contains("HEALTH").containsPattern(id + "\\s+from-cli\\s+ready\\s+up");
        assertThat(ai.factory.cli.FactoryCli.run(new java.io.PrintWriter(out), new java.io.PrintWriter(err), "nodes",
                "token", "create", "--uses", "0", "--url", factory.url(), "--key", admin)).isEqualTo(1);
        assertThat(err.toString()).contains("'uses'");
    }

    @Test
    void aFactoryOnH2TakesNoWorkers(@TempDir Path other) {
        assertThatThrownBy(() -> TestFactory.start(other.resolve("a"), Map.of(Setting.CLUSTER_PORT, "0")))
                .hasMessageContaining("needs PostgreSQL");
        try (TestFactory h2 = TestFactory.start(other.resolve("b"))) {
            HttpResponse<String> r = h2.post("/cluster/v1/join", null, "{\"token\": \"x\", \"name\": \"n\", "
                    + "\"csr\": \"x\", \"version\": \"1\", \"inventory\": {}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
            assertThat(r.body()).contains("takes no workers");
            assertThat(other.resolve("b").resolve("cluster")).as("no cluster CA made for a refused caller").doesNotExist();
            HttpResponse<String> token = h2.post(TOKENS, h2.adminKey(), "{}");
            assertThat(token.statusCode()).as("no token that no worker could use: " + token.body()).isEqualTo(409);
        }
    }
}
