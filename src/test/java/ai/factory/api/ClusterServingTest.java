package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.ReplicaCalls;
import ai.factory.cluster.Worker;
import ai.factory.cluster.WorkerReplicas;
import ai.factory.config.Setting;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
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
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane ({@code cluster.role: control}, on PostgreSQL) places a deployment's replicas on two workers that
 * joined, and answers the OpenAI API through them: each worker fetches the model encrypted, is given its data key
 * over mutual TLS (audited), loads it from memory and serves it on a port that takes the control plane's
 * certificate alone. The workers here are the worker's own classes in this JVM, each with a home of its own, running
 * the real llama.cpp engine on the tiny test model; the control plane and they talk over loopback mutual TLS.
 */
@ServerTest
class ClusterServingTest {
    private static final Map<String, Object> INVENTORY = Map.of("name", "test", "cpu", Map.of("cores", 2));
    private static final String MODEL = "acme/tiny";

    @TempDir
    static Path dir;

    static TestDatabases.Scratch database;
    static TestFactory factory;
    static final List<RunningWorker> workers = new ArrayList<>();

    /** A worker as {@code factory worker} runs one: its replicas, its serving port, its heartbeats. */
    record RunningWorker(Worker worker, WorkerReplicas replicas, WorkerServer serving, Thread heartbeats, Path home)
            implements AutoCloseable {
        @Override
        public void close() {
            heartbeats.interrupt();
            serving.close();
            replicas.close();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        Path gguf = TestModels.tinyLlama();
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.DB_URL, database.config().url());
        if (database.config().user() != null) {
            settings.put(Setting.DB_USER, database.config().user());
        }
        if (database.config().password() != null) {
            settings.put(Setting.DB_PASSWORD, database.config().password());
        }
        settings.put(Setting.CLUSTER_PORT, "0");
        settings.put(Setting.CLUSTER_ROLE, "control");
        settings.put(Setting.CLUSTER_HEARTBEAT_DEADLINE, "3s");
        factory = TestFactory.start(dir.resolve("control"), settings);
        HttpResponse<String> token = factory.post("/api/v1/nodes/tokens", factory.adminKey(),
                "{\"expires\": \"1h\", \"uses\": 2}");
        assertThat(token.statusCode()).as(token.body()).isEqualTo(201);
        for (String name : List.of("w1", "w2")) {
            workers.add(worker(name, json(token).path("token").asText()));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> json(factory.get("/api/v1/nodes", factory.adminKey()))
                .path("nodes").findValuesAsText("health").stream().filter("up"::equals).count() == 2);
        factory.deployGguf(MODEL, gguf, "\"replicas\": 2, \"parallel\": 2, \"context\": 256");
    }

    static RunningWorker worker(String name, String token) {
        Path home = dir.resolve("workers").resolve(name);
        Worker worker = Worker.start(home, URI.create(factory.url()), token, name, "test",
                () -> Json.mapper().valueToTree(INVENTORY), Optional.empty());
        WorkerReplicas replicas = new WorkerReplicas(home.resolve("worker").resolve("cache"), worker.modelSource(),
                (work, file) -> LlamaEngine.loadFromMemory(LlamaRuntime.load(), file, work.model(),
                        LlamaEngineOptions.defaults().withContextPerSequence(work.contextPerSequence())
                                .withParallel(work.parallel()).withThreads(1).withQueueCapacity(work.queue())));
        WorkerServer serving = new WorkerServer("127.0.0.1", 0, worker.identity(), worker.clusterCa(), replicas)
                .start();
        worker.serve(replicas, serving.port());
        Thread heartbeats = Thread.ofVirtual().name("worker-" + name).start(() -> {
            try {
                worker.run("test", () -> Json.mapper().valueToTree(INVENTORY));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new RunningWorker(worker, replicas, serving, heartbeats, home);
    }

    @AfterAll
    static void stop() {
        workers.forEach(RunningWorker::close);
        TestFactory.closeAll(factory, database);
    }

    private static HttpResponse<String> chat(String content, boolean stream) {
        return factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + MODEL + "\", "
                + "\"max_tokens\": 8, \"temperature\": 0, \"stream\": " + stream + ", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"" + content + "\"}]}");
    }

    @Test
    void replicasSpreadOverTheWorkersAndServeCallsThroughTheControlPlane() throws Exception {
        for (RunningWorker w : workers) {
            assertThat(w.replicas().reports()).as("one replica on each worker").singleElement()
                    .extracting(Assignments.Reported::phase).isEqualTo(Assignments.Phase.READY);
        }
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
    void workersHoldTheModelEncryptedAndWereGivenItsKeyOverMutualTlsAudited() throws Exception {
        byte[] plaintextStart = new byte[4];
        try (var in = Files.newInputStream(TestModels.tinyLlama())) {
            assertThat(in.read(plaintextStart)).isEqualTo(4);
        }
        for (RunningWorker w : workers) {
            List<Path> cached;
            try (Stream<Path> files = Files.walk(w.home().resolve("worker").resolve("cache"))) {
                cached = files.filter(Files::isRegularFile).toList();
            }
            assertThat(cached).as("one blob in the cache").hasSize(1);
            byte[] stored = Files.readAllBytes(cached.getFirst());
            assertThat(HexFormat.of().formatHex(stored, 0, 4)).as("not GGUF in plain text")
                    .isNotEqualTo(HexFormat.of().formatHex(plaintextStart));
            assertThat(new String(stored, java.nio.charset.StandardCharsets.ISO_8859_1))
                    .doesNotContain("general.architecture");
        }
        List<String> nodes = workers.stream().map(w -> w.worker().joined().nodeId()).toList();
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
    void aDeploymentDeletedEndsItsAssignmentsAndTheWorkersForgetTheModel() {
        String second = factory.deployGguf("acme/tiny-two", TestModels.tinyLlama(), "\"replicas\": 1, \"context\": 128");
        await().atMost(Duration.ofSeconds(10)).until(() -> workers.stream().mapToInt(w -> w.replicas().reports()
                .size()).sum() == 3);
        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/deployments/" + second,
                factory.adminKey()).DELETE());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> workers.stream().mapToInt(w -> w.replicas().reports()
                .size()).sum() == 2);
        HttpResponse<String> gone = factory.post("/v1/chat/completions", factory.adminKey(),
                "{\"model\": \"acme/tiny-two\", \"max_tokens\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(chat("the first one serves on", false).statusCode()).isEqualTo(200);
    }

    private static HttpClient client(Path key, Path certificate, Path ca) {
        try {
            KeyStore identity = KeyStore.getInstance("PKCS12");
            identity.load(null, null);
            identity.setKeyEntry("k", ai.factory.security.tls.Pem.privateKey(key, "key"), new char[0],
                    ai.factory.security.tls.Pem.certificates(certificate, "certificate")
                            .toArray(java.security.cert.X509Certificate[]::new));
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(identity, new char[0]);
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
