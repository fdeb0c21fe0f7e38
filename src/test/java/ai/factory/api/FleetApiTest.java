package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /api/v1/fleet} and the node gauges on {@code /metrics}, against a real factory on this machine. */
@ServerTest
class FleetApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    @Test
    void fleetListsThisNodeWithItsCpuMemoryAcceleratorsAndDeployments() {
        HttpResponse<String> r = factory.get("/api/v1/fleet", factory.adminKey());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode nodes = json(r).path("nodes");
        assertThat(nodes.size()).isEqualTo(1);
        JsonNode node = nodes.get(0);
        assertThat(fieldNames(node)).containsExactly("name", "cpu", "memory", "accelerators", "gpuOffload", "warnings",
                "deployments");
        assertThat(node.path("gpuOffload").path("supported").isBoolean()).isTrue();
        assertThat(node.path("gpuOffload").path("detail").asText()).isNotBlank();
        assertThat(node.path("name").asText()).isNotBlank();
        assertThat(node.path("cpu").path("cores").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(node.path("cpu").path("threads").asInt()).isGreaterThanOrEqualTo(node.path("cpu").path("cores").asInt());
        assertThat(node.path("cpu").path("isaFeatures").isArray()).isTrue();
        assertThat(node.path("memory").path("total").asLong()).isPositive();
        assertThat(node.path("memory").path("available").asLong()).isBetween(0L, node.path("memory").path("total").asLong());
        assertThat(node.path("accelerators").isArray()).isTrue();
        assertThat(node.path("warnings").isArray()).isTrue();

        JsonNode builtin = node.path("deployments").get(0);
        assertThat(fieldNames(builtin)).containsExactly("id", "model", "version", "state", "replicas", "placements",
                "activeRequests");
        assertThat(builtin.path("model").asText()).isEqualTo("builtin/all-minilm-l6-v2");
        assertThat(builtin.path("id").asText()).startsWith("dep-");
        assertThat(builtin.path("version").asInt()).isEqualTo(1);
        assertThat(builtin.path("state").asText()).isIn("pending", "loading", "ready");
        assertThat(builtin.path("replicas").asInt()).isEqualTo(1);
        assertThat(builtin.path("activeRequests").asInt()).isZero();
    }

    @Test
    void everyRoleButTheAuditorReadsTheFleetWithTheDeploymentsItMaySee() {
        String invoker = json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"dashboard\"}")).path("secret").asText();
        HttpResponse<String> seen = factory.get("/api/v1/fleet", invoker);
        assertThat(seen.statusCode()).isEqualTo(200);
        assertThat(json(seen).at("/nodes/0/deployments").size()).as("an invoker reads no deployment").isZero();
        assertThat(json(factory.get("/api/v1/fleet", factory.adminKey())).at("/nodes/0/deployments").size()).isPositive();
        String auditor = json(factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\":\"audit\",\"role\":\"auditor\"}")).path("secret").asText();
        assertThat(factory.get("/api/v1/fleet", auditor).statusCode()).isEqualTo(403);
    }

    @Test
    void fleetNeedsAKey() {
        HttpResponse<String> none = factory.get("/api/v1/fleet", null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(json(none).at("/error/message").asText()).contains("no API key");
        assertThat(factory.get("/api/v1/fleet", "fk_not-a-key").statusCode()).isEqualTo(401);
    }

    @Test
    void metricsCarryTheNodeMemoryGauges() {
        String metrics = factory.get("/metrics", factory.adminKey()).body();
        assertThat(metrics).containsPattern("factory_node_memory_available_bytes\\{node=\"[^\"]+\"} [0-9.E]+")
                .contains("factory_node_memory_total_bytes{node=");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
