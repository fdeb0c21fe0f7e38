package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A deployment's gpuLayers outlives a restart, and its replicas are placed again (recorded nvidia-smi outputs). */
@ServerTest
class GpuLayersRestartTest {
    @TempDir
    Path home;

    private static FixtureCommandRunner eightH100() {
        return new FixtureCommandRunner()
                .answer(NvidiaSmi.QUERY, "nvidia/query-8x-h100-sxm.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-8x-h100-sxm.xml");
    }

    private static JsonNode get(TestFactory factory, String path) throws Exception {
        return Json.mapper().readTree(factory.get(path, factory.adminKey()).body());
    }

    @Test
    void gpuLayersAreRecordedAndTheReplicasArePlacedAgainAfterARestart() throws Exception {
        String id;
        try (TestFactory first = TestFactory.start(home, eightH100())) {
            id = first.deployGguf("acme/cpu-only", TestModels.tinyLlama(), "\"gpuLayers\": 0, \"context\": 128");
            assertThat(get(first, "/api/v1/deployments/" + id).path("gpuLayers").asInt()).isZero();
        }
        try (TestFactory second = TestFactory.start(home, eightH100())) {
            Awaitility.await().atMost(Duration.ofMinutes(2)).until(() ->
                    get(second, "/api/v1/deployments/" + id).path("state").asText().equals("ready"));
            JsonNode d = get(second, "/api/v1/deployments/" + id);
            assertThat(d.path("gpuLayers").isInt()).isTrue();
            assertThat(d.path("gpuLayers").asInt()).isZero();
            assertThat(d.path("placements").get(0).path("device").asText()).isEqualTo("cpu");
            assertThat(get(second, "/api/v1/fleet").path("nodes").get(0).path("gpuOffload").path("freeGpus").asInt())
                    .isEqualTo(7);
        }
    }
}
