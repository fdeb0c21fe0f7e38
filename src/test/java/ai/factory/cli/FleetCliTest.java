package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code factory fleet} as a client of a real factory. */
@ServerTest
class FleetCliTest {
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

    private static String[] run(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        assertThat(exit).as(err.toString()).isEqualTo(expectedExit);
        return new String[] {out.toString(), err.toString()};
    }

    @Test
    void fleetPrintsTheNodeAndItsDeployments() {
        String out = run(0, "fleet", "--home", home.toString())[0];
        String node = nodeName();
        assertThat(out.lines().findFirst().orElseThrow()).startsWith("NODE").contains("CPU", "CORES", "RAM FREE/TOTAL",
                "ACCELERATORS");
        assertThat(out).contains(node, "iB / ", "DEPLOYMENT", "builtin/all-minilm-l6-v2:1");
    }

    @Test
    void fleetJsonIsTheApiAnswer() throws Exception {
        JsonNode json = Json.mapper().readTree(run(0, "fleet", "--json", "--home", home.toString())[0]);
        assertThat(json.path("nodes").get(0).path("name").asText()).isEqualTo(nodeName());
        assertThat(json.path("nodes").get(0).path("deployments").findValuesAsText("model"))
                .contains("builtin/all-minilm-l6-v2");
    }

    @Test
    void fleetWithAWrongKeyFailsWithOneLine() {
        String err = run(1, "fleet", "--home", home.toString(), "--key", "fk_wrong")[1];
        assertThat(err.lines()).hasSize(1);
        assertThat(err).startsWith("factory: ").contains("not valid");
    }

    private static String nodeName() {
        try {
            return Json.mapper().readTree(factory.get("/api/v1/fleet", factory.adminKey()).body())
                    .path("nodes").get(0).path("name").asText();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void acceleratorsAreSummedByKindAndListedOneByOneWithWarnings() throws Exception {
        JsonNode fleet = Json.mapper().readTree("""
                {"nodes": [{"name": "gpu-7",
                  "cpu": {"model": "Intel(R) Xeon(R) Platinum 8480+", "sockets": 2, "cores": 112, "threads": 224},
                  "memory": {"total": 2199023255552, "available": 1099511627776, "limit": 1649267441664,
                             "free": 549755813888, "heldByDeployments": 1073741824, "heldByTraining": 2147483648},
                  "accelerators": [
                    {"kind": "nvidia", "index": 0, "name": "NVIDIA H100 80GB HBM3", "memoryTotal": 85520809984,
                     "memoryUsed": 0, "computeCapability": "9.0", "mig": [], "nvlinkDomain": "c0ffee/7"},
                    {"kind": "nvidia", "index": 1, "name": "NVIDIA H100 80GB HBM3", "memoryTotal": 85520809984,
                     "memoryUsed": 1073741824, "computeCapability": "9.0", "mig": [{}, {}], "nvlinkDomain": null},
                    {"kind": "neuron", "index": 0, "name": "neuron", "memoryTotal": 103079215104, "memoryUsed": null,
                     "neuronCores": 8}],
                  "warnings": ["amd-smi static --json: exited with 2"],
                  "deployments": []}]}
                """);
        StringWriter text = new StringWriter();
        FleetCommand.print(fleet, new PrintWriter(text));
        assertThat(text.toString()).contains(
                "112c/224t", "1.0 TiB / 2.0 TiB", "2 x nvidia NVIDIA H100 80GB HBM3 (79.6 GiB), 1 x neuron neuron (96.0 GiB)",
                "0 B / 79.6 GiB", "cc 9.0, NVLink c0ffee/7", "1.0 GiB / 79.6 GiB", "cc 9.0, 2 MIG",
                "? / 96.0 GiB", "8 NeuronCores",
                "gpu-7: host memory 512.0 GiB free of memory.limit 1.5 TiB; deployments hold 1.0 GiB, fine-tuning 2.0 GiB",
                "warning: gpu-7: amd-smi static --json: exited with 2")
                .doesNotContain("DEPLOYMENT");
    }
}
