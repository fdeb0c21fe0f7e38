package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.api.TestCluster.RunningWorker;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.ReplicaCalls;
import ai.factory.config.Setting;
import ai.factory.storage.TestDatabases;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane ({@code cluster.role: control}, on PostgreSQL) places a deployment's replicas on the workers that
 * joined, and answers the OpenAI API through them: each worker fetches the model encrypted, is given its data key
 * over mutual TLS (audited), loads it from memory and serves it on a port that takes the control plane's
 * certificate alone. A drained worker's replica moves without a failed call; a worker killed with SIGKILL mid-stream
 * ends its calls with a clean error, and its replica is placed again on a worker left.
 *
 * <p>Three workers: {@code w0} is {@code factory worker} in a process of its own (so that it can be killed), {@code
 * w1} and {@code w2} the worker's own classes in this JVM (so that the test can look inside); each has a home of its
 * own and runs the real llama.cpp engine on the tiny test model; all talk to the control plane over loopback mutual
 * TLS. The tests run in order, each from where the previous one left the cluster.
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterServingTest {
    private static final String MODEL = "acme/tiny";

    @TempDir
    static Path dir;

    static TestDatabases.Scratch database;
    static TestFactory factory;
    /** The control plane's settings: a fixed cluster port, so that the workers find it again after its restart. */
    static Map<Setting, String> settings;
    /** The in-process workers, w1 and w2. */
    static final List<RunningWorker> workers = new ArrayList<>();
    static Process w0;
    /** What the first w0 printed. */
    static List<String> w0Output = List.of();
    static String w0Id;

    @BeforeAll
    static void start() throws Exception {
        Path gguf = TestModels.tinyLlama();
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        settings = TestCluster.controlPlane(database);
        factory = TestFactory.start(dir.resolve("control"), settings);
        HttpResponse<String> token = factory.post("/api/v1/nodes/tokens", factory.adminKey(),
                "{\"expires\": \"1h\", \"uses\": 3}");
        assertThat(token.statusCode()).as(token.body()).isEqualTo(201);
        String secret = json(token).path("token").asText();
        w0 = workerProcess("w0", secret);
        for (String name : List.of("w1", "w2")) {
            workers.add(worker(name, secret));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> json(factory.get("/api/v1/nodes", factory.adminKey()))
                .path("nodes").findValuesAsText("health").stream().filter("up"::equals).count() == 3);
        w0Id = nodeId("w0");
        // Names break ties between equally loaded workers: replica 0 goes to w0, replica 1 to w1; w2 stays free.
        factory.deployGguf(MODEL, gguf, "\"replicas\": 2, \"parallel\": 2, \"context\": 2048, \"threads\": 1");
    }

    /**
     * {@code factory worker} in a process of its own, serving on loopback, with the control plane's blob folder as
     * its shared one (as a shared file system would mount it); returns once it serves.
     */
    static Process workerProcess(String name, String token) throws IOException {
        TestCluster.Started started = TestCluster.process(List.of("worker", "--join", factory.url(), "--token", token,
                "--name", name, "--home", dir.resolve("workers").resolve(name).toString(), "--serve-host", "127.0.0.1",
                "--threads", "1", "--shared-blobs", dir.resolve("control").resolve("blobs").toString()), Map.of(),
                "serves replicas on port");
        w0Output = started.output();
        return started.process();
    }

    static String nodeId(String name) {
        for (JsonNode n : json(factory.get("/api/v1/nodes", factory.adminKey())).path("nodes")) {
            if (n.path("name").asText().equals(name)) {
                return n.path("id").asText();
            }
        }
        throw new AssertionError("no node " + name);
    }

    /** The replicas an in-process worker runs of {@code MODEL}, ready. */
    static long ready(RunningWorker w) {
        return w.replicas().reports().stream().filter(r -> r.phase() == Assignments.Phase.READY).count();
    }

    static RunningWorker worker(String name, String token) {
        return TestCluster.worker(dir.resolve("workers").resolve(name), factory.url(), token, name);
    }

    @AfterAll
    static void stop() {
        if (w0 != null) {
            w0.destroyForcibly();
        }
        workers.forEach(RunningWorker::close);
        TestFactory.closeAll(factory, database);
    }

    private static HttpResponse<String> chat(String content, boolean stream) {
        return chat(MODEL, content, stream);
    }

    private static HttpResponse<String> chat(String model, String content, boolean stream) {
        return factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + model + "\", "
                + "\"max_tokens\": 8, \"temperature\": 0, \"stream\": " + stream + ", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"" + content + "\"}]}");
    }

    /**
     * Two clients calling {@code model} back to back, plain and streaming in turn, each call's outcome kept (200, or
     * the status of one that failed or ended with an error); running once its first calls are answered.
     */
    private static final class Load {
        private final List<Integer> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
        private final java.util.concurrent.atomic.AtomicBoolean calling =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        private final List<Thread> callers = new ArrayList<>();

        Load(String model) {
            for (int c = 0; c < 2; c++) {
                int caller = c;
                callers.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; calling.get(); i++) {
                        HttpResponse<String> r = chat(model, "caller " + caller + " call " + i, i % 2 == 0);
                        // An error object, not the word: the tiny model may well generate "error" as a token.
                        statuses.add(r.statusCode() == 200 && !r.body().contains("{\"error\":") ? 200 : r.statusCode());
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= 4);
        }

        /** Lets a few more calls be answered, stops the clients, and returns every call's outcome. */
        List<Integer> stop() throws InterruptedException {
            int before = statuses.size();
            await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= before + 4);
            calling.set(false);
            for (Thread t : callers) {
                t.join();
            }
            return List.copyOf(statuses);
        }
    }

    @Test
    @Order(10)
    void replicasSpreadOverTheWorkersAndServeCallsThroughTheControlPlane() throws Exception {
        synchronized (w0Output) {
            assertThat(w0Output).as("w0 copied the model from the shared blob folder, not through the control plane")
                    .anyMatch(l -> l.contains("copied the blob of " + MODEL + ":1 from the shared blob folder"));
        }
        assertThat(ready(workers.get(0))).as("w1 runs one replica").isEqualTo(1);
        assertThat(workers.get(1).replicas().reports()).as("w2 runs none").isEmpty();
        JsonNode w1 = json(factory.get("/api/v1/nodes/" + workers.getFirst().worker().joined().nodeId(),
                factory.adminKey()));
        assertThat(w1.path("replicas")).as("the node lists its replica").hasSize(1);
        assertThat(w1.path("replicas").get(0).path("state").asText()).isEqualTo("ready");
        assertThat(w1.path("replicas").get(0).path("model").asText()).isEqualTo(MODEL + ":1");
        assertThat(json(factory.get("/api/v1/nodes/" + workers.get(1).worker().joined().nodeId(),
                factory.adminKey())).path("replicas")).isEmpty();
        HttpResponse<String> plain = chat("Hello there", false);
        assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
        JsonNode answer = json(plain);
        assertThat(answer.path("usage").path("completion_tokens").asInt()).isBetween(1, 8);
        assertThat(answer.path("choices").get(0).path("message").path("content").asText()).isNotNull();
        String text = answer.path("choices").get(0).path("message").path("content").asText();

        HttpResponse<String> streamed = chat("Hello there", true);
        assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);
        assertThat(streamed.body()).contains("data: [DONE]");
        StringBuilder deltas = new StringBuilder();
        for (String line : streamed.body().lines().filter(l -> l.startsWith("data: {")).toList()) {
            deltas.append(Json.mapper().readTree(line.substring(6)).path("choices").path(0).path("delta")
                    .path("content").asText(""));
        }
        assertThat(deltas.toString()).as("greedy, so the same text from either replica").isEqualTo(text);

        // Several choices of one call run on one worker, their lines interleaved on one stream.
        HttpResponse<String> two = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_tokens\": 8, \"n\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"two\"}]}");
        assertThat(two.statusCode()).as(two.body()).isEqualTo(200);
        assertThat(json(two).path("choices").findValuesAsText("index")).containsExactlyInAnyOrder("0", "1");
        assertThat(json(two).path("usage").path("completion_tokens").asInt()).isBetween(2, 16);

        // Many calls at once: they succeed, and both workers serve some.
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String content = "call " + i;
            boolean stream = i % 2 == 0;
            calls.add(pool.submit((Callable<HttpResponse<String>>) () -> chat(content, stream)));
        }
        for (Future<HttpResponse<String>> call : calls) {
            assertThat(call.get().statusCode()).as(call.get().body()).isEqualTo(200);
        }
        pool.close();
        assertThat(factory.get("/metrics", factory.adminKey()).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(15)
    void aConversationsNextTurnGoesToTheWorkerThatHoldsItsStart() throws Exception {
        // One replica busy with a long stream, so the conversation's first turn goes to the other.
        HttpResponse<java.util.stream.Stream<String>> busy = HttpClient.newHttpClient().send(factory.request(
                        "/v1/chat/completions", factory.adminKey()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"max_tokens\": 1500, "
                        + "\"ignore_eos\": true, \"stream\": true, \"messages\": [{\"role\": \"user\", "
                        + "\"content\": \"keep going\"}]}")).build(), HttpResponse.BodyHandlers.ofLines());
        java.util.Iterator<String> lines = busy.body().iterator();
        while (lines.hasNext() && !lines.next().startsWith("data: {")) {
            // until the stream generates
        }
        String question = "tell me about the rivers and the mountains and the old towns of the northern valleys, "
                + "their bridges, their markets, their festivals and the songs the people sing in the long winters";
        HttpResponse<String> first = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL
                + "\", \"max_tokens\": 8, \"temperature\": 0, \"messages\": [{\"role\": \"user\", \"content\": \""
                + question + "\"}]}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        String answer = json(first).path("choices").get(0).path("message").path("content").asText();
        lines.forEachRemaining(l -> { }); // the long stream ends: both replicas are idle again
        // Both idle, the router would take the first by load alone; the turn goes where its start is held.
        HttpResponse<String> second = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \""
                + MODEL + "\", \"max_tokens\": 8, \"temperature\": 0, \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"" + question + "\"}, {\"role\": \"assistant\", \"content\": "
                + Json.mapper().writeValueAsString(answer) + "}, {\"role\": \"user\", \"content\": \"and then?\"}]}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        int prompt = json(first).path("usage").path("prompt_tokens").asInt();
        assertThat(json(second).path("usage").path("prompt_tokens_details").path("cached_tokens").asInt())
                .as("the second turn reused the first turn's tokens on its worker").isGreaterThanOrEqualTo(prompt / 2);
    }

    @Test
    @Order(20)
    void workersHoldTheModelEncryptedAndWereGivenItsKeyOverMutualTlsAudited() throws Exception {
        byte[] plaintextStart = new byte[4];
        try (var in = Files.newInputStream(TestModels.tinyLlama())) {
            assertThat(in.read(plaintextStart)).isEqualTo(4);
        }
        for (Path home : List.of(dir.resolve("workers").resolve("w0"), workers.getFirst().home())) {
            List<Path> cached;
            try (Stream<Path> files = Files.walk(home.resolve("worker").resolve("cache"))) {
                cached = files.filter(Files::isRegularFile).toList();
            }
            assertThat(cached).as("one blob in the cache").hasSize(1);
            byte[] stored = Files.readAllBytes(cached.getFirst());
            assertThat(HexFormat.of().formatHex(stored, 0, 4)).as("not GGUF in plain text")
                    .isNotEqualTo(HexFormat.of().formatHex(plaintextStart));
            assertThat(new String(stored, java.nio.charset.StandardCharsets.ISO_8859_1))
                    .doesNotContain("general.architecture");
        }
        List<String> nodes = List.of(w0Id, workers.getFirst().worker().joined().nodeId());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<String> released = new ArrayList<>();
            json(factory.get("/api/v1/audit?action=" + Assignments.AUDIT_KEY_RELEASED, factory.adminKey()))
                    .path("records").forEach(r -> {
                        if (r.path("resource").asText().equals("model=" + MODEL + ":1")) {
                            released.add(r.path("principalId").asText());
                        }
                    });
            assertThat(released).as("each worker was given the key of its own replica").containsExactlyInAnyOrderElementsOf(nodes);
        });
    }

    @Test
    @Order(30)
    void aWorkersServingPortRefusesEveryoneButTheControlPlane() throws Exception {
        RunningWorker w1 = workers.getFirst();
        RunningWorker w2 = workers.get(1);
        String assignment = w1.replicas().reports().getFirst().assignment();
        URI tokenize = URI.create("https://127.0.0.1:" + w1.serving().port() + ReplicaCalls.PREFIX + assignment
                + ReplicaCalls.TOKENIZE);
        // Another node's certificate, from the same cluster CA: refused.
        Path files = w2.home().resolve("worker");
        HttpClient asNode = client(files.resolve("node.key"), files.resolve("node.pem"), files.resolve("cluster-ca.pem"));
        HttpResponse<String> r = asNode.send(HttpRequest.newBuilder(tokenize)
                .POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"hi\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(r.body()).contains("FORBIDDEN", "control plane");
        // No certificate at all: the TLS handshake fails.
        HttpClient anonymous = HttpClient.newBuilder().sslContext(trusting(files.resolve("cluster-ca.pem"))).build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> anonymous.send(HttpRequest.newBuilder(tokenize)
                        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
        // The control plane's own path still works after that.
        assertThat(chat("still here", false).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(35)
    void badCallsInsideTheClusterAreRefusedInTheirOwnShape() throws Exception {
        RunningWorker w1 = workers.getFirst();
        RunningWorker w2 = workers.get(1);
        String assignment = w1.replicas().reports().getFirst().assignment();
        // The control plane's own certificate, made here from the cluster CA in its home, as the control plane does.
        ai.factory.security.tls.ServerIdentity control = ai.factory.security.tls.ClusterCa.loadOrCreate(
                dir.resolve("control").resolve("cluster"), java.time.Clock.systemUTC()).controlPlaneIdentity();
        Path ca = w1.home().resolve("worker").resolve("cluster-ca.pem");
        HttpClient asControl = client(control, ca);
        String base = "https://127.0.0.1:" + w1.serving().port() + ReplicaCalls.PREFIX;
        record Bad(String path, String body, int status, String code) {
            @Override
            public String toString() {
                return path + " with " + body.length() + " bytes";
            }
        }
        for (Bad bad : List.of(
                new Bad(assignment + ReplicaCalls.GENERATE, "{not json", 400, "INVALID_REQUEST"),
                new Bad(assignment + ReplicaCalls.GENERATE, "{\"requests\": []}", 400, "INVALID_REQUEST"),
                new Bad(assignment + ReplicaCalls.GENERATE, "{\"requests\": [{\"prompt\": [], \"sampling\": {}}]}",
                        400, "INVALID_REQUEST"),
                new Bad(assignment + ReplicaCalls.TOKENIZE, "{}", 400, "INVALID_REQUEST"),
                new Bad(assignment + ReplicaCalls.DETOKENIZE, "{\"tokens\": \"many\"}", 400, "INVALID_REQUEST"),
                new Bad("asg-unknown" + ReplicaCalls.TOKENIZE, "{\"text\": \"hi\"}", 503, "UNAVAILABLE"),
                new Bad(assignment + "/no-such-call", "{}", 404, "NOT_FOUND"),
                new Bad(assignment + ReplicaCalls.TOKENIZE, "{\"text\": \"" + "x".repeat(17 << 20) + "\"}", 413,
                        "PAYLOAD_TOO_LARGE"))) {
            HttpResponse<String> r = asControl.send(HttpRequest.newBuilder(URI.create(base + bad.path()))
                    .POST(HttpRequest.BodyPublishers.ofString(bad.body())).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(bad + ": " + r.body()).isEqualTo(bad.status());
            assertThat(Json.mapper().readTree(r.body()).path("error").path("code").asText()).as(bad.toString())
                    .isEqualTo(bad.code());
        }
        HttpResponse<String> now = asControl.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                + w1.serving().port() + ReplicaCalls.HEARTBEAT_NOW)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(now.statusCode()).as("the control plane asks for a heartbeat now").isEqualTo(204);
        HttpResponse<String> good = asControl.send(HttpRequest.newBuilder(URI.create(base + assignment
                + ReplicaCalls.TOKENIZE)).POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"hi\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(good.statusCode()).as("the worker serves on: " + good.body()).isEqualTo(200);
        assertThat(Json.mapper().readTree(good.body()).path("tokens").size()).isPositive();

        // A node asks the control plane for another node's model and key: refused.
        ai.factory.cluster.ReplicaWork others = new ai.factory.cluster.ReplicaWork(assignment, "dep", 0, MODEL + ":1",
                "default", "0".repeat(64), 1, 128, 1, 1, 1, 0, "f16", 0, 0, 0, 0, java.util.List.of(), "default", -1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> w2.worker().modelSource().fetchKey(others))
                .isInstanceOf(IOException.class).hasMessageContaining("403").hasMessageContaining("not this node's");
        Path target = dir.resolve("stolen.blob");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> w2.worker().modelSource().fetchBlob(others, target))
                .isInstanceOf(IOException.class).hasMessageContaining("403");
        assertThat(chat("after the bad calls", false).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(40)
    void aDeploymentDeletedEndsItsAssignmentsAndTheWorkersForgetTheModel() throws Exception {
        String second = factory.deployGguf("acme/tiny-two", TestModels.tinyLlama(), "\"replicas\": 1, \"context\": 128");
        assertThat(workers.get(1).replicas().reports()).as("the free worker, w2, takes it").hasSize(1);
        Path cache = workers.get(1).home().resolve("worker").resolve("cache");
        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/deployments/" + second,
                factory.adminKey()).DELETE());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> workers.get(1).replicas().reports().isEmpty());
        // The ended replica takes calls for a heartbeat deadline more (other control-plane replicas may send some),
        // then goes, and its model with it.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            try (Stream<Path> files = Files.walk(cache)) {
                assertThat(files.filter(Files::isRegularFile).toList()).as("w2 forgot the model").isEmpty();
            }
        });
        HttpResponse<String> gone = factory.post("/v1/chat/completions", factory.adminKey(),
                "{\"model\": \"acme/tiny-two\", \"max_tokens\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(chat("the first one serves on", false).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(45)
    void aControlPlaneThatRestartsFindsItsReplicasWhereTheyRun() {
        List<String> before = workers.getFirst().replicas().reports().stream().map(Assignments.Reported::assignment)
                .toList();
        assertThat(before).hasSize(1);
        factory.close();
        java.time.Instant restarted = java.time.Instant.now();
        factory = TestFactory.start(dir.resolve("control"), settings);
        await().atMost(Duration.ofSeconds(30)).until(() -> json(factory.get("/api/v1/deployments",
                factory.adminKey())).path("deployments").findValuesAsText("state").stream().allMatch("ready"::equals));
        // Every worker is heard from again by the new control plane before the next test drains one: one it has not
        // heard from within the deadline is not up, and would not be chosen for the drained replica.
        await().atMost(Duration.ofSeconds(30)).until(() -> json(factory.get("/api/v1/nodes", factory.adminKey()))
                .path("nodes").findValuesAsText("lastSeenAt").stream().map(java.time.Instant::parse)
                .filter(restarted::isBefore).count() == 3);
        assertThat(workers.getFirst().replicas().reports().stream().map(Assignments.Reported::assignment).toList())
                .as("the worker kept its replica: no reload").isEqualTo(before);
        HttpResponse<String> r = chat("after the restart", false);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    @Test
    @Order(50)
    void aDrainedWorkersReplicaMovesWithoutAFailedCall() throws Exception {
        RunningWorker w1 = workers.get(0);
        RunningWorker w2 = workers.get(1);
        Load load = new Load(MODEL);
        HttpResponse<String> drained = factory.post("/api/v1/nodes/" + w1.worker().joined().nodeId() + "/drain",
                factory.adminKey(), "{}");
        assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> w1.replicas().reports().isEmpty() && ready(w2) == 1);
        assertThat(load.stop()).as("every call during the drain succeeded").hasSizeGreaterThan(8).containsOnly(200);
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            try (Stream<Path> files = Files.walk(w1.home().resolve("worker").resolve("cache"))) {
                assertThat(files.filter(Files::isRegularFile).toList()).as("the drained worker forgot the model")
                        .isEmpty();
            }
        });
    }

    @Test
    @Order(60)
    void aWorkerKilledMidStreamEndsItsCallsCleanlyAndItsReplicaIsPlacedAgain() throws Exception {
        RunningWorker w2 = workers.get(1);
        // Both replicas serve (w0's and the one that moved to w2), as the control plane sees them, before the streams.
        await().atMost(Duration.ofSeconds(30)).until(() -> ready(w2) == 1 && json(factory.get("/api/v1/nodes/" + w0Id,
                factory.adminKey())).path("replicas").findValuesAsText("state").equals(List.of("ready")));
        // A long stream on each replica: the second call starts once the first streams, so the router, which sends a
        // call to the replica with the fewest in flight, puts it on the other one. One of them is on w0.
        HttpClient client = HttpClient.newHttpClient();
        List<java.util.Iterator<String>> lines = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            HttpResponse<java.util.stream.Stream<String>> r = client.send(factory.request("/v1/chat/completions",
                    factory.adminKey()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"max_tokens\": 1900, "
                            + "\"ignore_eos\": true, \"stream\": true, \"messages\": [{\"role\": \"user\", "
                            + "\"content\": \"go on " + i + "\"}]}")).build(), HttpResponse.BodyHandlers.ofLines());
            assertThat(r.statusCode()).isEqualTo(200);
            java.util.Iterator<String> it = r.body().iterator();
            while (it.hasNext() && !it.next().startsWith("data: {")) {
                // until the first chunk: the stream is generating
            }
            lines.add(it);
        }
        w0.destroyForcibly();
        assertThat(w0.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        List<String> rests = new ArrayList<>();
        for (java.util.Iterator<String> it : lines) {
            StringBuilder rest = new StringBuilder();
            it.forEachRemaining(l -> rest.append(l).append('\n'));
            rests.add(rest.toString());
        }
        assertThat(rests).as("the stream on w0 ended with an error in OpenAI's shape, the other ran on")
                .anySatisfy(r -> assertThat(r).contains("\"error\"", "went away", "try again"))
                .anySatisfy(r -> assertThat(r).doesNotContain("data: {\"error\"").contains("data: [DONE]"));
        // The replica is placed again on the worker left that is not draining (w2), and calls succeed.
        await().atMost(Duration.ofSeconds(30)).until(() -> ready(w2) == 2);
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = chat("after the kill " + i, false);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        // No worker's disk holds the model in plain text.
        try (Stream<Path> files = Files.walk(dir.resolve("workers"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                byte[] start = new byte[4];
                try (var in = Files.newInputStream(f)) {
                    in.read(start);
                }
                assertThat(new String(start, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f.toString())
                        .isNotEqualTo("GGUF");
            }
        }
    }

    @Test
    @Order(70)
    void aWorkerStoppedWithSigtermHandsItsReplicaOverWithoutAFailedCall() throws Exception {
        // w0 comes back after its SIGKILL (same home, no token: the same node), and w1, drained before, is resumed.
        w0 = TestCluster.process(List.of("worker", "--join", factory.url(), "--name", "w0", "--home",
                dir.resolve("workers").resolve("w0").toString(), "--serve-host", "127.0.0.1", "--threads", "1"),
                Map.of(), "serves replicas on port").process();
        String w1Id = workers.getFirst().worker().joined().nodeId();
        assertThat(factory.post("/api/v1/nodes/" + w1Id + "/resume", factory.adminKey(), "{}").statusCode())
                .isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> "up".equals(json(factory.get("/api/v1/nodes/" + w0Id,
                factory.adminKey())).path("health").asText()));
        // A model of its own, placed on w0: no replica there or on w1, and w0 comes first by name.
        String model = "acme/tiny-three";
        factory.deployGguf(model, TestModels.tinyLlama(), "\"replicas\": 1, \"context\": 256, \"threads\": 1");
        assertThat(json(factory.get("/api/v1/nodes/" + w0Id, factory.adminKey())).path("replicas")).hasSize(1);

        Load load = new Load(model);
        w0.destroy(); // SIGTERM, as a rolling upgrade sends: the worker leaves, and stops once its replica moved
        assertThat(w0.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the worker stopped by itself").isTrue();
        assertThat(load.stop()).as("every call while the worker left succeeded").hasSizeGreaterThan(8)
                .containsOnly(200);
        assertThat(json(factory.get("/api/v1/nodes/" + w1Id, factory.adminKey())).path("replicas")
                .findValuesAsText("model")).as("its replica moved to w1").contains(model + ":1");
        assertThat(json(factory.get("/api/v1/audit?action=node.leaving", factory.adminKey())).path("records")
                .toString()).contains(w0Id);
    }

    @Test
    @Order(80)
    void aReplicaNoWorkerCanTakeLeavesItsDeploymentDegradedSayingWhyUntilOneCan() throws Exception {
        RunningWorker w1 = workers.get(0);
        RunningWorker w2 = workers.get(1);
        String w1Id = w1.worker().joined().nodeId();
        // w1 drained: its replicas go to w2, the one worker left to take them.
        assertThat(factory.post("/api/v1/nodes/" + w1Id + "/drain", factory.adminKey(), "{}").statusCode())
                .isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> w1.replicas().isEmpty());
        // w2 goes away without a word: its replicas can go nowhere (w1 is drained, w0 stopped).
        w2.close();
        workers.remove(w2);
        JsonNode deployment = await().atMost(Duration.ofSeconds(20)).until(this::tinyDeployment,
                d -> d.path("reason").asText("").startsWith("degraded:"));
        assertThat(deployment.path("state").asText()).isEqualTo("ready");
        assertThat(deployment.path("readyReplicas").asInt()).isLessThan(deployment.path("replicas").asInt());
        assertThat(deployment.path("reason").asText()).contains("being placed again on the workers left");
        // A worker again: the replicas are placed on it, and the deployment serves whole.
        assertThat(factory.post("/api/v1/nodes/" + w1Id + "/resume", factory.adminKey(), "{}").statusCode())
                .isEqualTo(200);
        deployment = await().atMost(Duration.ofSeconds(30)).until(this::tinyDeployment,
                d -> d.path("readyReplicas").asInt() == d.path("replicas").asInt());
        assertThat(deployment.path("reason").isNull() || deployment.path("reason").isMissingNode()).as(deployment
                .toString()).isTrue();
        HttpResponse<String> served = chat("after the move", false);
        assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
    }

    /** The deployment of {@code MODEL}, as the API shows it. */
    private JsonNode tinyDeployment() {
        for (JsonNode d : json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments")) {
            if (d.path("model").asText().equals(MODEL)) {
                return d;
            }
        }
        throw new AssertionError("no deployment of " + MODEL);
    }

    /** A client presenting a node's key and certificate, as files of its home. */
    private static HttpClient client(Path key, Path certificate, Path ca) {
        return client(new ai.factory.security.tls.ServerIdentity(ai.factory.security.tls.Pem.privateKey(key, "key"),
                ai.factory.security.tls.Pem.certificates(certificate, "certificate")), ca);
    }

    private static HttpClient client(ai.factory.security.tls.ServerIdentity identity, Path ca) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("k", identity.key(), new char[0],
                    identity.chain().toArray(java.security.cert.X509Certificate[]::new));
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, new char[0]);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trustManagers(ca), new SecureRandom());
            return HttpClient.newBuilder().sslContext(context).build();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static SSLContext trusting(Path ca) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trustManagers(ca), new SecureRandom());
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static javax.net.ssl.TrustManager[] trustManagers(Path ca) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("ca", ai.factory.security.tls.Pem.certificates(ca, "ca").getFirst());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        return trust.getTrustManagers();
    }
}
