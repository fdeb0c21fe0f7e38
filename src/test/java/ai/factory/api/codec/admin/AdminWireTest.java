package ai.factory.api.codec.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.codec.WireJson;
import ai.factory.engine.llama.KvCacheType;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.fleet.capacity.Footprint;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The management API's records write the shapes the API has always answered, and read back (as the command line reads
 * them) into what writes the same JSON again, so {@code --json} prints what the server sent.
 */
class AdminWireTest {
    private static String json(Object value) throws Exception {
        return Json.mapper().writeValueAsString(value);
    }

    private static <T> T reread(String json, Class<T> type) throws Exception {
        return Json.mapper().readValue(json, type);
    }

    @Test
    void deploymentKeepsGpuLayersAsAutoOrANumberAndPlacementsAsAllOrANumber() throws Exception {
        var deployment = new DeploymentWire.Deployment("dep-1", "acme", "acme/tiny", 2, "ready", null, 1, 4, 0, 0, 64,
                "auto", 32, "q8_0", 4, 10,
                List.of(new DeploymentWire.Placement(0, "gpu", "all", List.of(0, 1), List.of(11, 11), 1L << 30),
                        new DeploymentWire.Placement(1, "gpu", 7, List.of(2), List.of(7), 5L)),
                Instant.parse("2026-12-05T01:02:03.456Z"), 1, 0, 1, 12);
        String written = json(deployment);
        assertThat(written).isEqualTo("""
                {"id":"dep-1","project":"acme","model":"acme/tiny","version":2,"state":"ready","reason":null,\
                "replicas":1,"parallel":4,"context":0,"threads":0,"queue":64,"gpuLayers":"auto",\
                "stepTokens":32,"cacheType":"q8_0","prefixCache":4,"priority":10,\
                "placements":[\
                {"replica":0,"device":"gpu","gpuLayers":"all","gpus":[0,1],"layersPerGpu":[11,11],"bytesPerGpu":1073741824},\
                {"replica":1,"device":"gpu","gpuLayers":7,"gpus":[2],"layersPerGpu":[7],"bytesPerGpu":5}],\
                "createdAt":"2026-12-05T01:02:03.456Z","activeRequests":1,"waitingRequests":0,"readyReplicas":1,"generatedTokens":12}""");
        assertThat(json(reread(written, DeploymentWire.Deployment.class))).isEqualTo(written);
    }

    @Test
    void createdKeyLeavesOutTheOtherKindsSecretsButKeepsANullRevocation() throws Exception {
        var key = new KeyWire.Key("k1", "app", "default", "invoker", "fk_ab", Instant.parse("2026-12-05T00:00:00Z"),
                null);
        String bearer = json(KeyWire.CreatedKey.bearer(key, "fk_secret"));
        assertThat(bearer).isEqualTo("""
                {"id":"k1","name":"app","project":"default","role":"invoker","prefix":"fk_ab",\
                "createdAt":"2026-12-05T00:00:00Z","revokedAt":null,"secret":"fk_secret"}""");
        assertThat(json(KeyWire.CreatedKey.aws(key, "AKIA1", "s3cr3t")))
                .endsWith("\"revokedAt\":null,\"accessKeyId\":\"AKIA1\",\"secretAccessKey\":\"s3cr3t\"}");
        assertThat(json(reread(bearer, KeyWire.CreatedKey.class))).isEqualTo(bearer);
    }

    @Test
    void commandLineRequestsSendOnlyWhatWasGiven() throws Exception {
        assertThat(json(new KeyWire.CreateKey("app", null, null, null))).isEqualTo("{\"name\":\"app\"}");
        assertThat(json(new DeploymentWire.CreateDeployment("acme/tiny", 1, 2, 0, 0, 64, TextNode.valueOf("auto"),
                null, null, null, null))).isEqualTo("""
                        {"model":"acme/tiny","replicas":1,"parallel":2,"context":0,"threads":0,"queue":64,\
                        "gpuLayers":"auto"}""");
        var given = new DeploymentWire.CreateDeployment("acme/tiny", null, null, null, null, null, IntNode.valueOf(3),
                IntNode.valueOf(32), "Q8_0", 4, -5);
        assertThat(given.gpuLayerCount()).isEqualTo(3);
        assertThat(given.stepTokenCount()).isEqualTo(32);
        assertThat(given.kvCacheType()).isEqualTo(KvCacheType.Q8_0);
        assertThat(json(given)).endsWith("\"cacheType\":\"Q8_0\",\"prefixCache\":4,\"priority\":-5}");
        var absent = new DeploymentWire.CreateDeployment("acme/tiny", null, null, null, null, null, null, null, null,
                null, null);
        assertThat(absent.stepTokenCount()).isEqualTo(DeploymentWire.STEP_TOKENS_AUTO);
        assertThat(absent.kvCacheType()).isEqualTo(KvCacheType.F16);
        assertThat(json(new ModelWire.ImportPath("/m.gguf", null, "acme", null)))
                .isEqualTo("{\"path\":\"/m.gguf\",\"project\":\"acme\"}");
    }

    @Test
    void fleetAcceleratorsCarryTheirHolderAfterTheirOwnFieldsAndNullWhenFree() throws Exception {
        var amd = new FleetWire.Amd("amd", 0, "MI300X", 10, null, "gfx942", 304, "0000:05:00.0", "6.10.5");
        assertThat(json(new FleetWire.NodeAccelerator(amd, false, null))).isEqualTo("""
                {"kind":"amd","index":0,"name":"MI300X","memoryTotal":10,"memoryUsed":null,"target":"gfx942",\
                "computeUnits":304,"pciAddress":"0000:05:00.0","driverVersion":"6.10.5","allocated":false,"allocatedTo":null}""");
        assertThat(json(new FleetWire.NodeAccelerator(amd, true, "dep-1/0"))).endsWith(",\"allocatedTo\":\"dep-1/0\"}");
    }

    @Test
    void planCarriesTheFieldsOfItsFitInTheOrderTheApiAlwaysWroteThem() throws Exception {
        Footprint f = new Footprint(List.of(10L, 10L), 5, 3, 2, 7, 256, CacheType.F16);
        assertThat(fields(PlanWire.Plan.of("acme/tiny:1", new CapacityPlan.HostMemory(f, 30, 99))))
                .containsExactly("model", "fit", "hostBytes", "hostFree", "need");
        assertThat(fields(PlanWire.Plan.of(null, new CapacityPlan.FullOffload(f, "nvidia", List.of(20L, 20L),
                List.of(1, 1), 80, 5)))).containsExactly("fit", "kind", "devices", "layersPerDevice", "deviceBytes",
                "deviceFree", "hostBytes", "need");
        assertThat(fields(PlanWire.Plan.of(null, new CapacityPlan.PartialOffload(f, "nvidia", 1, List.of(10L), 12, 20,
                99)))).containsExactly("fit", "kind", "gpuLayers", "deviceBytes", "deviceFree", "hostBytes", "hostFree",
                "need");
        assertThat(fields(PlanWire.Plan.of(null, new CapacityPlan.DoesNotFit(f, 40, 9, "needs 40 B, 9 B free"))))
                .containsExactly("fit", "needBytes", "hostFree", "reason", "need");
        String written = json(PlanWire.Plan.of("acme/tiny:1", new CapacityPlan.HostMemory(f, 30, 99)));
        assertThat(json(reread(written, PlanWire.Plan.class))).isEqualTo(written);
    }

    private static List<String> fields(Object value) throws Exception {
        List<String> names = new java.util.ArrayList<>();
        Json.mapper().readTree(json(value)).fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void sovereigntyReportKeepsClassificationsInOrderAndReadsBackToTheSameJson() throws Exception {
        var report = new SovereigntyWire.Report(Instant.parse("2026-12-05T00:00:00Z"),
                new SovereigntyWire.Egress(List.of(), List.of(new SovereigntyWire.Attempts("https://x.example:443",
                        "deny", "failure", 2, 0, 0, Instant.parse("2026-12-04T23:00:00Z")))),
                new SovereigntyWire.DataClassification(new java.util.TreeMap<>(Map.of("restricted", 1L, "internal", 3L))),
                List.of(new SovereigntyWire.KeyProvider("master", "local-file", "AES-256-GCM", "/k", "project keys")),
                List.of(new EncryptionWire.Kek("_site", 1, 1, Instant.parse("2026-12-01T00:00:00Z"), null, 4)),
                new AuditWire.Verification(true, 10, 1, 1, 10, 0, null, 0, null, new AuditWire.Cadence(1000, "PT5M"), 1,
                        null, null), new AuditWire.StartCheck(true, false, Instant.parse("2026-12-04T22:00:00Z"), null),
                new SovereigntyWire.ModelSignatures("require", "1 key(s) and 0 certificate authority(ies)", 2, 0),
                new SovereigntyWire.Software("factory 0.1.0 (commit abc)", "ab".repeat(32), null));
        String written = json(report);
        assertThat(written).contains("\"dataClassification\":{\"models\":{\"internal\":3,\"restricted\":1}}")
                .startsWith("{\"generatedAt\":\"2026-12-05T00:00:00Z\",\"egress\":{\"allow\":[],\"attempts\":[");
        assertThat(json(reread(written, SovereigntyWire.Report.class))).isEqualTo(written);
    }

    @Test
    void auditVerificationNamesAProblemOnlyWhenThereIsOne() throws Exception {
        assertThat(json(new AuditWire.Verification(true, 3, 1, 1, 3, 0, null, 0, null, null, 0, null, null)))
                .doesNotContain("problem").doesNotContain("warning");
        assertThat(json(new AuditWire.Verification(false, 3, 1, 1, 3, 0, null, 0,
                new AuditWire.Problem("deleted", 2, "record 2 is missing"), null, 0, null, null)))
                .contains("\"problem\":{\"kind\":\"deleted\",\"seq\":2,\"message\":\"record 2 is missing\"}")
                .endsWith(",\"anchors\":0}");
    }

    @Test
    void requestsReadStrictlyAndNameWhatIsMissingOrMistyped() {
        assertThatThrownBy(() -> WireJson.read("{\"contentLogging\": \"true\"}".getBytes(StandardCharsets.UTF_8),
                ProjectWire.UpdateProject.class))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("contentLogging"))
                .hasMessageContaining("must be true or false, not a string");
        assertThatThrownBy(() -> WireJson.read("{}".getBytes(StandardCharsets.UTF_8), ModelWire.ImportPath.class))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("path"))
                .hasMessageContaining("'path' is required");
        assertThat(WireJson.read("{\"name\": \"a\", \"extra\": 1}".getBytes(StandardCharsets.UTF_8),
                ProjectWire.CreateProject.class).name()).isEqualTo("a");
        assertThat(WireJson.read("{}".getBytes(StandardCharsets.UTF_8), EncryptionWire.RotateMaster.class).destroy())
                .isFalse();
    }
}
