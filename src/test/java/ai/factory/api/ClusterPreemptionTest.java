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
import ai.factory.cluster.ReplicaWork;
import ai.factory.cluster.Worker;
import ai.factory.cluster.WorkerReplicas;
import ai.factory.engine.TextEngine;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.NvidiaGpu;
import ai.factory.storage.TestDatabases;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPUs on a cluster: a project's accelerator quota keeps its replicas to the GPUs it allows, and where the one worker
 * is full, a deployment of a higher priority ends the replica of a lower one to take its place, which waits, degraded
 * and saying why, until there is room again. A control plane on a real PostgreSQL and a worker in this JVM over mutual
 * TLS, as {@code ClusterServingTest} runs them.
 *
 * <p>The worker reports one NVIDIA GPU, which this machine does not have: its loader holds the GPU for each replica
 * that asks for GPU layers in a {@link GpuAllocator}, as {@code factory worker} does, and reports how many are free
 * from it, but loads the model on the CPU. What is tested is the control plane's choice and the worker's order (the
 * ended replica unloaded, its GPU given back, before the new one loads), not GPU offload.
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterPreemptionTest {
    @TempDir
    static Path dir;

    static TestDatabases.Scratch database;
    static TestFactory factory;
    static RunningWorker worker;
    static GpuAllocator gpus;

    @BeforeAll
    static void start() throws Exception {
        TestModels.tinyLlama();
        database = TestDatabases.scratch(TestDatabases.Kind.POSTGRESQL, dir);
        factory = TestFactory.start(dir.resolve("control"), TestCluster.controlPlane(database));
        HttpResponse<String> token = factory.post("/api/v1/nodes/tokens", factory.adminKey(), "{\"uses\": 1}");
        assertThat(token.statusCode()).as(token.body()).isEqualTo(201);
        worker = gpuWorker(dir.resolve("worker"), json(token).path("token").asText());
        await().atMost(Duration.ofSeconds(30)).until(() -> json(factory.get("/api/v1/nodes", factory.adminKey()))
                .path("nodes").findValuesAsText("health").contains("up"));
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(worker, factory, database);
    }

    @Test
    @Order(10)
    void aProjectsAcceleratorQuotaKeepsItsReplicasOffGpusItDoesNotAllow() throws Exception {
        Path gguf = TestModels.tinyLlama();
        HttpResponse<String> none = factory.send(factory.request("/api/v1/quotas", factory.adminKey())
                .header("Content-Type", "application/json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"project\": \"default\", \"accelerators\": 0}")));
        assertThat(none.statusCode()).as(none.body()).isEqualTo(200);
        // Allowed none: "auto" runs on the CPU, though the worker has its GPU free.
        String cpu = factory.deployGguf("acme/quota-cpu", gguf, "\"context\": 128");
        assertThat(chat("acme/quota-cpu").statusCode()).isEqualTo(200);
        assertThat(gpus.freeGpus()).isEqualTo(1);
        JsonNode onCpu = await().atMost(Duration.ofSeconds(10)).until(() -> deployment(cpu).path("placements").get(0),
                p -> p.has("gpuCount"));
        assertThat(onCpu.path("node").asText()).isEqualTo("gpu-worker");
        assertThat(onCpu.path("device").asText()).isEqualTo("cpu");
        assertThat(onCpu.path("gpuCount").asInt()).isZero();
        // Allowed one: the next takes the GPU, and the worker reports it held, which counts.
        assertThat(factory.send(factory.request("/api/v1/quotas", factory.adminKey())
                .header("Content-Type", "application/json").PUT(java.net.http.HttpRequest.BodyPublishers
                        .ofString("{\"project\": \"default\", \"accelerators\": 1}"))).statusCode()).isEqualTo(200);
        String gpu = factory.deployGguf("acme/quota-gpu", gguf, "\"context\": 128");
        assertThat(gpus.freeGpus()).isZero();
        // The deployment says where its replica runs: the worker, and the GPU it holds there.
        JsonNode onGpu = await().atMost(Duration.ofSeconds(10)).until(() -> deployment(gpu).path("placements").get(0),
                p -> p.path("gpuCount").asInt() == 1);
        assertThat(onGpu.path("device").asText()).isEqualTo("gpu");
        assertThat(onGpu.path("gpuLayers").asText()).isEqualTo("auto");
        assertThat(onGpu.path("node").asText()).isEqualTo("gpu-worker");
        assertThat(chat("acme/quota-gpu").statusCode()).isEqualTo(200);
        for (String id : List.of(cpu, gpu)) {
            assertThat(factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey()).DELETE())
                    .statusCode()).isEqualTo(200);
        }
        assertThat(factory.send(factory.request("/api/v1/quotas?project=default", factory.adminKey()).DELETE())
                .statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> gpus.freeGpus() == 1 && worker.replicas().isEmpty());
    }

    @Test
    @Order(20)
    void aHigherPriorityTakesTheFullWorkersGpuAndTheReplicaItEndedWaitsSayingWhyUntilThereIsRoom() throws Exception {
        Path gguf = TestModels.tinyLlama();
        String low = factory.deployGguf("acme/batch", gguf, "\"gpuLayers\": 1, \"context\": 128, \"priority\": -10");
        assertThat(chat("acme/batch").statusCode()).isEqualTo(200);
        assertThat(gpus.freeGpus()).as("the one GPU is held").isZero();

        // No GPU free anywhere: the higher priority ends the batch replica and loads once it has unloaded.
        String high = factory.deployGguf("acme/chat", gguf, "\"gpuLayers\": 1, \"context\": 128, \"priority\": 10");
        HttpResponse<String> served = chat("acme/chat");
        assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
        assertThat(json(factory.get("/api/v1/deployments/" + high, factory.adminKey())).path("priority").asInt())
                .isEqualTo(10);

        JsonNode ended = await().atMost(Duration.ofSeconds(20)).until(() -> deployment(low),
                d -> d.path("reason").asText("").contains("it was ended on node gpu-worker"));
        assertThat(ended.path("state").asText()).isEqualTo("ready");
        assertThat(ended.path("readyReplicas").asInt()).isZero();
        assertThat(ended.path("reason").asText()).startsWith("degraded:").contains("no worker has a GPU free",
                "acme/chat:1, priority 10 over its -10");
        HttpResponse<String> refused = chat("acme/batch");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        assertThat(json(refused).path("error").path("message").asText()).isNotBlank();
        JsonNode audited = json(factory.get("/api/v1/audit?action=" + Assignments.AUDIT_PREEMPTED, factory.adminKey()))
                .path("records");
        assertThat(audited).hasSize(1);
        assertThat(audited.get(0).path("resource").asText()).isEqualTo("deployment=" + low);
        assertThat(audited.get(0).path("detail").asText()).contains("replica 0 of acme/batch:1", "for replica 0 of "
                + "deployment " + high);

        // An equal priority ends nothing: a third deployment waits.
        assertThat(factory.post("/api/v1/models/acme/equal/versions", factory.adminKey(), "{\"path\": \""
                + gguf.toAbsolutePath() + "\"}").statusCode()).isEqualTo(201);
        HttpResponse<String> equal = factory.post("/api/v1/deployments", factory.adminKey(), "{\"model\": "
                + "\"acme/equal\", \"gpuLayers\": 1, \"context\": 128, \"priority\": 10}");
        assertThat(equal.statusCode()).as(equal.body()).isEqualTo(202);
        String third = json(equal).path("id").asText();
        Thread.sleep(3_000);
        assertThat(chat("acme/chat").statusCode()).as("the replica of the same priority was not ended").isEqualTo(200);
        assertThat(deployment(third).path("state").asText()).isIn("pending", "loading");
        assertThat(factory.send(factory.request("/api/v1/deployments/" + third, factory.adminKey()).DELETE())
                .statusCode()).isEqualTo(200);

        // The higher priority deleted: its GPU comes back, and the batch deployment serves whole again.
        assertThat(factory.send(factory.request("/api/v1/deployments/" + high, factory.adminKey()).DELETE())
                .statusCode()).isEqualTo(200);
        JsonNode whole = await().atMost(Duration.ofSeconds(60)).until(() -> deployment(low),
                d -> d.path("readyReplicas").asInt() == 1);
        assertThat(whole.path("reason").isNull() || whole.path("reason").isMissingNode()).as(whole.toString()).isTrue();
        assertThat(chat("acme/batch").statusCode()).isEqualTo(200);
    }

    @Test
    @Order(30)
    void aPriorityOutOfRangeIsTheCallersError() {
        HttpResponse<String> r = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/batch\", \"priority\": 1001}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(r.body()).contains("'priority' must be between -1000 and 1000");
        HttpResponse<String> text = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/batch\", \"priority\": \"high\"}");
        assertThat(text.statusCode()).as(text.body()).isEqualTo(400);
    }

    private static JsonNode deployment(String id) {
        return json(factory.get("/api/v1/deployments/" + id, factory.adminKey()));
    }

    private static HttpResponse<String> chat(String model) {
        return factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"" + model + "\", "
                + "\"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}");
    }

    /** A worker in this JVM whose inventory reports one 80 GiB NVIDIA GPU, held per replica as the class says. */
    private static RunningWorker gpuWorker(Path home, String token) {
        gpus = new GpuAllocator(List.of(new NvidiaGpu(0, "GPU-test", "NVIDIA H100 80GB HBM3", 80L << 30, 0, "9.0",
                "580", List.of(), Optional.empty())));
        java.util.concurrent.atomic.AtomicReference<WorkerReplicas> replicas =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.function.Supplier<JsonNode> inventory = () -> {
            ObjectNode out = Json.mapper().createObjectNode().put("name", "gpu-worker");
            out.putObject("cpu").put("cores", 2);
            out.putArray("accelerators").addObject().put("kind", "nvidia").put("index", 0).put("memoryTotal", 80L << 30);
            WorkerReplicas r = replicas.get();
            out.put("gpusFree", Math.max(0, gpus.freeGpus() - (r == null ? 0 : r.loadingOnGpus())));
            return out;
        };
        Worker w = Worker.start(home, URI.create(factory.url()), token, "gpu-worker", "test", inventory,
                Optional.empty());
        WorkerReplicas running = new WorkerReplicas(home.resolve("worker").resolve("cache"), w.modelSource(),
                new WorkerReplicas.Loader() {
                    @Override
                    public TextEngine load(ReplicaWork work, Path file) {
                        if (work.usesGpus()) {
                            assertThat(gpus.allocate(work.assignment(), 1, 1L << 30))
                                    .as("the GPU is free when replica " + work.assignment() + " loads")
                                    .isInstanceOf(GpuAllocator.Result.Granted.class);
                        }
                        return LlamaEngine.loadFromMemory(LlamaRuntime.load(), file, work.model(),
                                LlamaEngineOptions.defaults().withContextPerSequence(work.contextPerSequence())
                                        .withParallel(work.parallel()).withThreads(1)
                                        .withQueueCapacity(work.queue()));
                    }

                    @Override
                    public void unloaded(ReplicaWork work) {
                        gpus.release(work.assignment());
                    }

                    @Override
                    public int gpusHeld(ReplicaWork work) {
                        return gpus.heldBy(work.assignment());
                    }
                }, w.joined().heartbeatInterval().multipliedBy(3));
        replicas.set(running);
        WorkerServer serving = new WorkerServer("127.0.0.1", 0, w.identity(), w.clusterCa(), running, w::wake).start();
        w.serve(running, serving.port());
        Thread heartbeats = Thread.ofVirtual().name("worker-gpu").start(() -> {
            try {
                w.run("test", inventory);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new RunningWorker(w, running, serving, heartbeats, home);
    }
}
