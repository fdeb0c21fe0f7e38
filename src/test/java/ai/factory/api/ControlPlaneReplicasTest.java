package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.api.TestCluster.RunningWorker;
import ai.factory.cli.FactoryCliTest;
import ai.factory.cluster.Assignments;
import ai.factory.config.Setting;
import ai.factory.storage.TestDatabases;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control-plane replicas on one PostgreSQL and one site folder: {@code a}, {@code factory up --role control} in a
 * process of its own (so that it can be killed with SIGKILL), started first and so the leader; {@code b} in this JVM
 * (so that the test can look inside). Two workers, in this JVM, join through {@code a} and learn {@code b}'s cluster
 * endpoint from their heartbeats. A deployment made through the follower is placed by the leader and served through
 * both; killing the leader moves leadership to {@code b} within seconds with no failed call through it, the workers
 * go on with {@code b}, and {@code b} does the leader's work from then on (a worker that dies has its replica placed
 * again); the audit chain both wrote verifies as one. The tests run in order, each from where the previous one left
 * the cluster.
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneReplicasTest {
    private static final String MODEL = "acme/tiny";

    @TempDir
    static Path dir;

    static TestDatabases.Scratch database;
    static Process a;
    static String aUrl;
    static TestFactory b;
    static String adminKey;
    static String deployment;
    static final List<RunningWorker> workers = new ArrayList<>();
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        TestModels.tinyLlama();
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        Map<Setting, String> shared = TestCluster.controlPlane(database);
        shared.put(Setting.CLUSTER_SITE, dir.resolve("site").toString());
        // a keeps its configuration in its home's factory.yaml, as an operator would (factory audit verify reads it).
        Map<Setting, String> settingsOfA = new EnumMap<>(shared);
        settingsOfA.put(Setting.PORT, "0");
        settingsOfA.put(Setting.BUILTIN_MODELS, "false");
        settingsOfA.put(Setting.GENERATION_THREADS, "1");
        Path homeOfA = dir.resolve("a");
        Files.createDirectories(homeOfA);
        StringBuilder yaml = new StringBuilder();
        settingsOfA.forEach((s, v) -> yaml.append(s.key()).append(": \"").append(v).append("\"\n"));
        Files.writeString(homeOfA.resolve("factory.yaml"), yaml);
        TestCluster.Started started = TestCluster.process(List.of("up", "--home", homeOfA.toString()), Map.of(),
                "Factory ready at ");
        a = started.process();
        aUrl = started.output().stream().filter(l -> l.startsWith("Factory ready at ")).findFirst().orElseThrow()
                .substring("Factory ready at ".length()).split("\\s+")[0];
        adminKey = Files.readString(dir.resolve("site").resolve("admin.key")).strip();

        Map<Setting, String> settingsOfB = new EnumMap<>(shared);
        settingsOfB.put(Setting.CLUSTER_PORT, String.valueOf(TestCluster.freePort()));
        b = TestFactory.start(dir.resolve("b"), settingsOfB);
        assertThat(b.adminKey()).as("the admin key the first replica made, in the site folder").isEqualTo(adminKey);

        HttpResponse<String> token = call(aUrl, "POST", "/api/v1/nodes/tokens", "{\"expires\": \"1h\", \"uses\": 2}");
        assertThat(token.statusCode()).as(token.body()).isEqualTo(201);
        String secret = json(token).path("token").asText();
        for (String name : List.of("w1", "w2")) {
            workers.add(TestCluster.worker(dir.resolve("workers").resolve(name), aUrl, secret, name));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> json(call(b.url(), "GET", "/api/v1/nodes", null))
                .path("nodes").findValuesAsText("health").stream().filter("up"::equals).count() == 2);
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.destroyForcibly();
        }
        workers.forEach(RunningWorker::close);
        TestFactory.closeAll(b, database);
    }

    static HttpResponse<String> call(String base, String method, String path, String body) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization",
                "Bearer " + adminKey).timeout(Duration.ofSeconds(60));
        r = body == null ? r.method(method, HttpRequest.BodyPublishers.noBody())
                : r.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        try {
            return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<String> chat(String base, String content, boolean stream) {
        return call(base, "POST", "/v1/chat/completions", "{\"model\": \"" + MODEL + "\", \"max_tokens\": 8, "
                + "\"temperature\": 0, \"stream\": " + stream + ", \"messages\": [{\"role\": \"user\", \"content\": \""
                + content + "\"}]}");
    }

    /** The leader's term and holder, as the database has them. */
    static String[] leader() throws Exception {
        try (Connection c = DriverManager.getConnection(database.config().url(), database.config().user(),
                database.config().password());
                ResultSet rs = c.createStatement().executeQuery("SELECT term, holder FROM cluster_leader")) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2)};
        }
    }

    static long ready(RunningWorker w) {
        return w.replicas().reports().stream().filter(r -> r.phase() == Assignments.Phase.READY).count();
    }

    @Test
    @Order(10)
    void aDeploymentMadeThroughTheFollowerIsPlacedByTheLeaderAndServedThroughBoth() throws Exception {
        assertThat(b.factory().leadership().isLeader()).as("b started second: it follows").isFalse();
        assertThat(leader()[1]).as("a leads").isNotEqualTo(b.factory().leadership().id()).isNotBlank();
        JsonNode planes = json(call(b.url(), "GET", "/api/v1/nodes", null)).path("controlPlanes");
        assertThat(planes).hasSize(2);
        assertThat(planes.findValuesAsText("health")).containsOnly("up");
        assertThat(planes.findValues("leader").stream().filter(JsonNode::asBoolean).count()).isEqualTo(1);
        FactoryCliTest.Run listed = FactoryCliTest.cli("nodes", "list", "--url", b.url(), "--key", adminKey);
        assertThat(listed.exit()).as(listed.err()).isZero();
        assertThat(listed.out()).contains("CONTROL PLANE").contains("https://127.0.0.1:" + b.factory().clusterPort());

        HttpResponse<String> imported = call(b.url(), "POST", "/api/v1/models/" + MODEL + "/versions",
                "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
        HttpResponse<String> created = call(b.url(), "POST", "/api/v1/deployments", "{\"model\": \"" + MODEL
                + "\", \"replicas\": 2, \"parallel\": 2, \"context\": 2048, \"threads\": 1}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        deployment = json(created).path("id").asText();
        for (String base : List.of(b.url(), aUrl)) {
            await().atMost(Duration.ofMinutes(2)).until(() -> json(call(base, "GET", "/api/v1/deployments/"
                    + deployment, null)).path("state").asText(), "ready"::equals);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> workers.stream().allMatch(w -> ready(w) == 1));

        for (String base : List.of(aUrl, b.url())) {
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = chat(base, "hello " + i, i % 2 == 0);
                assertThat(r.statusCode()).as(base + ": " + r.body()).isEqualTo(200);
            }
        }
        // Each worker learned both control-plane replicas from its heartbeats' answers, and keeps them on disk.
        await().atMost(Duration.ofSeconds(10)).until(() -> workers.stream().allMatch(w -> w.worker().endpoints()
                .size() == 2));
        for (RunningWorker w : workers) {
            assertThat(w.home().resolve("worker").resolve("control-planes.json")).exists();
        }

        // A deployment deleted through one replica goes from the other too; its replicas leave the workers.
        HttpResponse<String> other = call(aUrl, "POST", "/api/v1/deployments", "{\"model\": \"" + MODEL
                + "\", \"replicas\": 1, \"context\": 512, \"threads\": 1}");
        assertThat(other.statusCode()).as(other.body()).isEqualTo(202);
        String otherId = json(other).path("id").asText();
        await().atMost(Duration.ofMinutes(2)).until(() -> json(call(b.url(), "GET", "/api/v1/deployments/" + otherId,
                null)).path("state").asText(), "ready"::equals);
        assertThat(call(b.url(), "DELETE", "/api/v1/deployments/" + otherId, null).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> call(aUrl, "GET", "/api/v1/deployments/" + otherId, null)
                .statusCode() == 404);
        await().atMost(Duration.ofSeconds(15)).until(() -> workers.stream().mapToLong(w -> w.replicas().reports()
                .size()).sum() == 2);
    }

    @Test
    @Order(20)
    void killingTheLeaderMovesLeadershipWithinSecondsAndNoCallThroughTheOtherFails() throws Exception {
        String[] before = leader();
        AtomicBoolean going = new AtomicBoolean(true);
        AtomicInteger served = new AtomicInteger();
        ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
        List<Thread> callers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int caller = t;
            callers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; going.get(); i++) {
                    HttpResponse<String> r = chat(b.url(), "caller " + caller + " call " + i, i % 2 == 0);
                    if (r.statusCode() == 200 && (i % 2 == 1 || r.body().contains("data: [DONE]"))) {
                        served.incrementAndGet();
                    } else {
                        failed.add(r.statusCode() + " " + r.body());
                    }
                }
            }));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> served.get() >= 2);
        long killed = System.nanoTime();
        a.destroyForcibly();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> b.factory().leadership().isLeader());
        long handoverMillis = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("leader handover: " + handoverMillis + " ms from SIGKILL to the other replica leading");
        int servedAtHandover = served.get();
        await().atMost(Duration.ofSeconds(30)).until(() -> served.get() >= servedAtHandover + 4);
        going.set(false);
        for (Thread c : callers) {
            c.join();
        }
        assertThat(failed).as("calls through the replica that lived").isEmpty();
        String[] after = leader();
        assertThat(Long.parseLong(after[0])).as("a new term").isGreaterThan(Long.parseLong(before[0]));
        assertThat(after[1]).isEqualTo(b.factory().leadership().id());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode planes = json(call(b.url(), "GET", "/api/v1/nodes", null)).path("controlPlanes");
            for (JsonNode p : planes) {
                boolean isB = p.path("id").asText().equals(b.factory().leadership().id());
                assertThat(p.path("leader").asBoolean()).as(p.toString()).isEqualTo(isB);
                assertThat(p.path("health").asText()).as(p.toString()).isEqualTo(isB ? "up" : "down");
            }
        });

        // The workers go on with b: their heartbeats reach it, so b keeps them up.
        String bCluster = "https://127.0.0.1:" + b.factory().clusterPort();
        await().atMost(Duration.ofSeconds(15)).until(() -> workers.stream().allMatch(w -> w.worker().endpoint()
                .toString().equals(bCluster)));
        Thread.sleep(3_500); // past the heartbeat deadline since a died
        assertThat(json(call(b.url(), "GET", "/api/v1/nodes", null)).path("nodes").findValuesAsText("health"))
                .containsOnly("up");
    }

    @Test
    @Order(30)
    void theNewLeaderPlacesAgainTheReplicaOfAWorkerThatDies() {
        RunningWorker survivor = workers.getFirst();
        RunningWorker dying = workers.get(1);
        dying.close(); // no more heartbeats, its serving port closed
        await().atMost(Duration.ofSeconds(60)).until(() -> ready(survivor) == 2);
        await().atMost(Duration.ofSeconds(15)).until(() -> chat(b.url(), "after", false).statusCode() == 200);
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = chat(b.url(), "again " + i, i % 2 == 0);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
    }

    @Test
    @Order(40)
    void theAuditChainBothReplicasWroteVerifiesAsOne() throws Exception {
        JsonNode records = json(call(b.url(), "GET", "/api/v1/audit?action=audit.start&limit=100", null));
        assertThat(records.path("records").size()).as("a writer start from each replica").isGreaterThanOrEqualTo(2);
        assertThat(json(call(b.url(), "GET", "/api/v1/audit?action=replica.keyReleased&limit=100", null))
                .path("records").size()).as("keys released to the workers, by either replica").isGreaterThanOrEqualTo(3);
        FactoryCliTest.Run verified = FactoryCliTest.cli("audit", "verify", "--home", dir.resolve("a").toString(),
                "--json");
        assertThat(verified.exit()).as(verified.out() + verified.err()).isZero();
        assertThat(verified.json().path("ok").asBoolean()).as(verified.out()).isTrue();
    }
}
