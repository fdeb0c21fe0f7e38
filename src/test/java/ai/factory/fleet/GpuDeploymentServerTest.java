package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real factory whose discovery finds 8 H100 GPUs (recorded nvidia-smi outputs: the one fake here, as this machine
 * has no GPU) and whose llama.cpp natives are this machine's CPU build: GPU layers asked for are refused with what
 * to do, and the plan's automatic choice runs on the CPU.
 */
@ServerTest
class GpuDeploymentServerTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, new FixtureCommandRunner()
                .answer(NvidiaSmi.QUERY, "nvidia/query-8x-h100-sxm.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-8x-h100-sxm.xml"));
        HttpResponse<String> imported = factory.post("/api/v1/models/acme/tiny/versions", factory.adminKey(),
                "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    private static JsonNode json(HttpResponse<String> r) {
        try {
            return ai.factory.Json.mapper().readTree(r.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JsonNode node() {
        HttpResponse<String> r = factory.get("/api/v1/fleet", factory.adminKey());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).path("nodes").get(0);
    }

    private static int deploymentCount() {
        return json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments").size();
    }

    @Test
    void theFleetShowsTheDiscoveredGpusAndThatTheseNativesCannotOffload() {
        JsonNode node = node();
        assertThat(node.path("accelerators").size()).isEqualTo(8);
        assertThat(node.path("accelerators").get(0).has("allocatedTo")).isTrue();
        JsonNode offload = node.path("gpuOffload");
        assertThat(offload.path("supported").asBoolean()).isFalse();
        assertThat(offload.path("detail").asText()).startsWith("no");
        assertThat(offload.path("gpuKind").asText()).isEqualTo("nvidia");
        assertThat(offload.path("gpus").asInt()).as("GPU 7 is mostly held by another process").isEqualTo(7);
        assertThat(offload.path("freeGpus").asInt()).isEqualTo(7);
        assertThat(offload.path("capacityPerGpu").asLong()).isEqualTo((81559L - 512) << 20);
    }

    @Test
    void gpuLayersOnCpuOnlyNativesAreRefusedWithWhatToDoAndNothingIsRecorded() {
        int before = deploymentCount();
        HttpResponse<String> r = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"gpuLayers\": 8}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(r.body()).contains("gpuLayers", "no GPU backend", "FACTORY_LLAMA_VARIANT=cuda");
        assertThat(deploymentCount()).isEqualTo(before);
        assertThat(node().path("gpuOffload").path("freeGpus").asInt()).isEqualTo(7);
    }

    @Test
    void badGpuLayersAreClearErrors() {
        int before = deploymentCount();
        for (String bad : new String[] {"\"many\"", "-2", "1.5", "true", "[1]"}) {
            HttpResponse<String> r = factory.post("/api/v1/deployments", factory.adminKey(),
                    "{\"model\": \"acme/tiny\", \"gpuLayers\": " + bad + "}");
            assertThat(r.statusCode()).as(bad + ": " + r.body()).isEqualTo(400);
            assertThat(json(r).path("error").path("param").asText()).as(bad).isEqualTo("gpuLayers");
        }
        assertThat(deploymentCount()).isEqualTo(before);
        assertThat(factory.get("/health/live", null).statusCode()).isEqualTo(200);
    }

    @Test
    void autoRunsOnTheCpuAndTheFleetSaysWhereEachReplicaRuns() {
        String id = factory.deployGguf("acme/auto", TestModels.tinyLlama(),
                "\"gpuLayers\": \"auto\", \"replicas\": 2, \"context\": 256");
        JsonNode deployment = json(factory.get("/api/v1/deployments/" + id, factory.adminKey()));
        assertThat(deployment.path("gpuLayers").asText()).isEqualTo("auto");
        assertThat(deployment.path("placements").size()).isEqualTo(2);
        assertThat(deployment.path("placements").get(1).path("device").asText()).isEqualTo("cpu");
        JsonNode listed = null;
        for (JsonNode d : node().path("deployments")) {
            if (d.path("id").asText().equals(id)) {
                listed = d;
            }
        }
        assertThat(listed).isNotNull();
        assertThat(listed.path("placements").get(0).path("gpus").size()).isZero();
        assertThat(node().path("gpuOffload").path("freeGpus").asInt()).isEqualTo(7);
        factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey()).DELETE());
    }
}
