package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import ai.factory.config.Setting;
import ai.factory.storage.TestDatabases;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster laid out as on separate machines: the control plane in this JVM on PostgreSQL, and three {@code factory
 * worker} processes, each in a network namespace of its own with an address of its own ({@link TestNetwork}), that
 * join over that network, not over a shared loopback. A worker reaches the control plane only at the bridge's address,
 * and the control plane reaches a worker only at the address it joined from.
 *
 * <p>Network namespaces need root: without them the test is skipped, unless {@code FACTORY_TEST_REQUIRE_NETNS=true}
 * (as under CI, which runs as root).
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterNetworkTest {
    private static final String MODEL = "acme/tiny";
    private static final int WORKERS = 3;

    @TempDir
    static Path dir;

    static TestNetwork network;
    static TestDatabases.Scratch database;
    static TestFactory factory;
    static final List<Process> workers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        if (!TestNetwork.available()) {
            if (Boolean.parseBoolean(System.getenv("FACTORY_TEST_REQUIRE_NETNS"))) {
                fail("network namespaces cannot be made here (FACTORY_TEST_REQUIRE_NETNS=true; run as root with "
                        + "iproute2)");
            }
            assumeTrue(false, "network namespaces cannot be made here (not root, or no iproute2)");
        }
        network = TestNetwork.create(WORKERS);
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        Map<Setting, String> settings = TestCluster.controlPlane(database);
        // The API and the cluster port on the test network's bridge, which is all the workers can reach.
        settings.put(Setting.HOST, network.hostAddress());
        factory = TestFactory.start(dir.resolve("control"), settings);
        HttpResponse<String> token = factory.post("/api/v1/nodes/tokens", factory.adminKey(),
                "{\"expires\": \"1h\", \"uses\": " + WORKERS + "}");
        assertThat(token.statusCode()).as(token.body()).isEqualTo(201);
        String secret = json(token).path("token").asText();
        for (int n = 0; n < WORKERS; n++) {
            workers.add(TestCluster.process(network.exec(n), List.of("worker", "--join", factory.url(), "--token",
                    secret, "--name", "w" + n, "--home", dir.resolve("workers").resolve("w" + n).toString(),
                    "--serve-host", network.address(n), "--threads", "1"), Map.of(), "serves replicas on port")
                    .process());
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> nodes().findValuesAsText("health").stream()
                .filter("up"::equals).count() == WORKERS);
        factory.deployGguf(MODEL, TestModels.tinyLlama(), "\"replicas\": 3, \"parallel\": 2, \"context\": 1024, "
                + "\"threads\": 1");
    }

    @AfterAll
    static void stop() throws InterruptedException {
        try {
            for (Process worker : workers) {
                worker.destroyForcibly();
                worker.waitFor(30, TimeUnit.SECONDS);
            }
            TestFactory.closeAll(factory, database);
        } finally {
            if (network != null) {
                network.close();
            }
        }
    }

    static JsonNode nodes() {
        return json(factory.get("/api/v1/nodes", factory.adminKey())).path("nodes");
    }

    /** Each node's name and how many of its replicas are ready, for the nodes that are up. */
    static Map<String, Integer> readyByNode() {
        Map<String, Integer> ready = new HashMap<>();
        for (JsonNode n : nodes()) {
            if (n.path("health").asText().equals("up")) {
                ready.put(n.path("name").asText(), (int) n.path("replicas").findValuesAsText("state").stream()
                        .filter("ready"::equals).count());
            }
        }
        return ready;
    }

    private static HttpResponse<String> chat(String content, boolean stream) {
        return factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL + "\", "
                + "\"max_tokens\": 8, \"temperature\": 0, \"stream\": " + stream + ", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"" + content + "\"}]}");
    }

    @Test
    @Order(10)
    void eachWorkerJoinedFromItsOwnAddressAndRunsOneReplica() {
        Map<String, String> addresses = new HashMap<>();
        nodes().forEach(n -> addresses.put(n.path("name").asText(), n.path("address").asText()));
        assertThat(addresses).as("the control plane records the address each worker joined from")
                .containsExactlyInAnyOrderEntriesOf(Map.of("w0", network.address(0), "w1", network.address(1),
                        "w2", network.address(2)));
        assertThat(readyByNode()).as("three replicas, one per worker")
                .containsExactlyInAnyOrderEntriesOf(Map.of("w0", 1, "w1", 1, "w2", 1));
    }

    @Test
    @Order(20)
    void thirtyConcurrentStreamsThroughTheControlPlaneSucceedAndEveryWorkerServesSome() throws Exception {
        Map<String, Long> before = generatedByNode();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String content = "stream " + i;
                calls.add(pool.submit((Callable<HttpResponse<String>>) () -> chat(content, true)));
            }
            for (Future<HttpResponse<String>> call : calls) {
                HttpResponse<String> r = call.get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.body()).as("a whole stream").contains("data: [DONE]").doesNotContain("\"error\"");
            }
        }
        // Every worker reports, with its next heartbeat, the tokens its replica generated: each served some calls.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(generatedByNode())
                .allSatisfy((node, generated) -> assertThat(generated).as(node)
                        .isGreaterThan(before.getOrDefault(node, 0L))));
        assertThat(generatedByNode()).hasSize(WORKERS);
        // The calls are over: within a heartbeat each replica reports its two slots idle and nothing waiting.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            for (JsonNode n : nodes()) {
                JsonNode load = n.path("replicas").get(0).path("load");
                assertThat(load.path("slots").asInt()).as(n.toString()).isEqualTo(2);
                assertThat(load.path("queueCapacity").asInt()).as(n.toString()).isPositive();
                assertThat(load.path("active").asInt() + load.path("waiting").asInt()).as(n.toString()).isZero();
            }
        });
        // The command line shows each node's load: its replica's two slots.
        FactoryCliTest.Run listed = FactoryCliTest.cli("nodes", "list", "--url", factory.url(), "--key",
                factory.adminKey());
        assertThat(listed.exit()).as(listed.err()).isZero();
        assertThat(listed.out()).contains("LOAD");
        assertThat(java.util.regex.Pattern.compile("\\b0/2 busy").matcher(listed.out()).results().count())
                .as(listed.out()).isEqualTo(WORKERS);
        // And the memory each reported, which replicas are placed by.
        assertThat(java.util.regex.Pattern.compile("\\d+\\.\\d of \\d+\\.\\d GiB free").matcher(listed.out())
                .results().count()).as(listed.out()).isEqualTo(WORKERS);
    }

    /** The tokens each node's replicas generated since they loaded, as its last heartbeat reported them. */
    static Map<String, Long> generatedByNode() {
        Map<String, Long> out = new HashMap<>();
        for (JsonNode n : nodes()) {
            long generated = 0;
            for (JsonNode r : n.path("replicas")) {
                generated += r.path("load").path("generatedTokens").asLong();
            }
            out.put(n.path("name").asText(), generated);
        }
        return out;
    }

    @Test
    @Order(30)
    void aWorkerKilledMidStreamEndsItsCallCleanlyAndItsReplicaServesAgainElsewhere() throws Exception {
        // A long stream on each replica: each call starts once the one before streams, so the router, which sends a
        // call to the replica with the fewest in flight, puts each on a replica of its own, one of them on w0.
        HttpClient client = HttpClient.newHttpClient();
        List<Iterator<String>> lines = new ArrayList<>();
        for (int i = 0; i < WORKERS; i++) {
            HttpResponse<Stream<String>> r = client.send(factory.request("/v1/chat/completions", factory.adminKey())
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"" + MODEL + "\", \"max_tokens\": 900, \"ignore_eos\": true, \"stream\": "
                                    + "true, \"messages\": [{\"role\": \"user\", \"content\": \"go on " + i + "\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofLines());
            assertThat(r.statusCode()).isEqualTo(200);
            Iterator<String> it = r.body().iterator();
            while (it.hasNext() && !it.next().startsWith("data: {")) {
                // until the first chunk: the stream is generating
            }
            lines.add(it);
        }
        Process w0 = workers.getFirst();
        w0.destroyForcibly();
        assertThat(w0.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> rests = new ArrayList<>();
        for (Iterator<String> it : lines) {
            StringBuilder rest = new StringBuilder();
            it.forEachRemaining(l -> rest.append(l).append('\n'));
            rests.add(rest.toString());
        }
        assertThat(rests).as("the stream on w0 ended with an error in OpenAI's shape, the others ran to their end")
                .filteredOn(r -> r.contains("\"error\"")).singleElement().satisfies(r -> assertThat(r)
                        .contains("went away", "try again"));
        assertThat(rests).filteredOn(r -> r.contains("data: [DONE]") && !r.contains("\"error\"")).hasSize(2);
        // The heartbeat deadline (3 s) passes, the leader places w0's replica on a worker left, and it loads there.
        await().atMost(Duration.ofSeconds(60)).until(() -> readyByNode().keySet().equals(Set.of("w1", "w2"))
                && readyByNode().values().stream().mapToInt(Integer::intValue).sum() == 3);
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = chat("after the kill " + i, i % 2 == 0);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).doesNotContain("{\"error\"");
        }
    }

    @Test
    @Order(40)
    void noWorkersDiskHoldsTheModelInPlainText() throws Exception {
        try (Stream<Path> files = Files.walk(dir.resolve("workers"))) {
            List<Path> regular = files.filter(Files::isRegularFile).toList();
            assertThat(regular).as("the workers cached the model (encrypted)").isNotEmpty();
            for (Path f : regular) {
                byte[] start = new byte[4];
                try (var in = Files.newInputStream(f)) {
                    in.readNBytes(start, 0, 4);
                }
                assertThat(new String(start, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f.toString())
                        .isNotEqualTo("GGUF");
            }
        }
    }
}
