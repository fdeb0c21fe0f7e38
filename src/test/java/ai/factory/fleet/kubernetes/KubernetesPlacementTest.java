package ai.factory.fleet.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.fleet.placement.PlacementEngine;
import ai.factory.fleet.placement.PlacementNode;
import ai.factory.fleet.placement.PlacementResult;
import ai.factory.fleet.placement.ReplicaRequest;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Placement against a cluster's nodes and pods. No Kubernetes API server can run on a build machine, so fabric8's
 * mock API server (in CRUD mode: it stores what is created and serves it back) stands in for one; the nodes are
 * written as a device plugin and NVIDIA's GPU feature discovery would leave them.
 */
class KubernetesPlacementTest {
    private static final long GIB = 1L << 30;
    private static KubernetesMockServer server;
    private static NamespacedKubernetesClient client;

    @BeforeAll
    static void start() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        for (Node node : List.of(
                node("h100-a", "nvidia.com/gpu", "8", Map.of("nvidia.com/gpu.memory", "81559",
                        "ai.factory/interconnect-domains", "4-4"), true, false),
                node("h100-b", "nvidia.com/gpu", "8", Map.of("nvidia.com/gpu.memory", "81559"), true, false),
                node("h100-cordoned", "nvidia.com/gpu", "8", Map.of("nvidia.com/gpu.memory", "81559"), true, true),
                node("h100-down", "nvidia.com/gpu", "8", Map.of("nvidia.com/gpu.memory", "81559"), false, false),
                node("gpu-unlabelled", "nvidia.com/gpu", "4", Map.of(), true, false),
                node("gpu-bad-memory", "nvidia.com/gpu", "4", Map.of("ai.factory/accelerator-memory", "lots"), true, false),
                node("gpu-bad-domains", "nvidia.com/gpu", "8", Map.of("nvidia.com/gpu.memory", "81559",
                        "ai.factory/interconnect-domains", "4-2"), true, false),
                node("trn2", "aws.amazon.com/neuron", "16", Map.of("ai.factory/accelerator-memory", "96GiB"), true, false),
                node("cpu-only", "cpu", "64", Map.of(), true, false))) {
            client.nodes().resource(node).create();
        }
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.destroy();
        }
    }

    private static Node node(String name, String resource, String count, Map<String, String> labels, boolean ready,
                             boolean cordoned) {
        return new NodeBuilder()
                .withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewSpec().withUnschedulable(cordoned).endSpec()
                .withNewStatus()
                .withAllocatable(Map.of(resource, new Quantity(count), "memory", new Quantity("1Ti")))
                .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
                .endStatus()
                .build();
    }

    @Test
    void aProjectNameThatNoLabelValueMayHoldStillFitsThePod() {
        ReplicaRequest request = new ReplicaRequest(9, "team-", 0, "nvidia", 1, GIB);
        Pod pod = KubernetesPlacement.pod(template(), request, new PlacementResult.Placed(9, "h100-b", List.of(), List.of()));
        assertThat(pod.getMetadata().getAnnotations()).containsEntry(KubernetesPlacement.PROJECT_ANNOTATION, "team-");
        assertThat(pod.getMetadata().getLabels().values()).allSatisfy(v ->
                assertThat(v).matches("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"));
    }

    private static Pod template() {
        return new PodBuilder()
                .withNewMetadata().withName("replica").withLabels(Map.of("app", "factory-engine")).endMetadata()
                .withNewSpec()
                .addNewContainer().withName("engine").withImage("registry.site.internal/factory:1")
                .withNewResources().addToRequests("memory", new Quantity("64Gi")).endResources()
                .endContainer()
                .addNewContainer().withName("sidecar").withImage("registry.site.internal/metrics:1").endContainer()
                .endSpec()
                .build();
    }

    @Test
    void readsTheNodesThatTakeWorkAndSaysWhyOthersAreLeftOut() {
        KubernetesPlacement.Nodes nvidia = KubernetesPlacement.nodes(client.nodes().list().getItems(), "nvidia");

        assertThat(nvidia.usable()).containsExactlyInAnyOrder(
                new PlacementNode("h100-a", "nvidia", 8, 81559L << 20, List.of(4, 4)),
                new PlacementNode("h100-b", "nvidia", 8, 81559L << 20, List.of(8)));
        assertThat(nvidia.skipped()).containsOnlyKeys("h100-cordoned", "h100-down", "gpu-unlabelled",
                "gpu-bad-memory", "gpu-bad-domains");
        assertThat(nvidia.skipped().get("h100-cordoned")).contains("cordoned");
        assertThat(nvidia.skipped().get("h100-down")).contains("not Ready");
        assertThat(nvidia.skipped().get("gpu-unlabelled")).contains("ai.factory/accelerator-memory=");
        assertThat(nvidia.skipped().get("gpu-bad-memory")).contains("lots", "is not a size");
        assertThat(nvidia.skipped().get("gpu-bad-domains")).contains("4-2", "add up to the node's 8 devices");

        KubernetesPlacement.Nodes neuron = KubernetesPlacement.nodes(client.nodes().list().getItems(), "neuron");
        assertThat(neuron.usable()).containsExactly(new PlacementNode("trn2", "neuron", 16, 96 * GIB, List.of(16)));
        assertThat(neuron.skipped()).isEmpty();
    }

    @Test
    void aPlacementBecomesAPodHeldToItsNodeThatTheApiServerAccepts() {
        List<PlacementNode> nodes = KubernetesPlacement.nodes(client.nodes().list().getItems(), "nvidia").usable();
        PlacementEngine engine = new PlacementEngine(nodes, Map.of(), PlacementEngine.Scoring.BIN_PACK);
        ReplicaRequest tensorParallel = new ReplicaRequest(7, "alpha", 1, "nvidia", 4, 70 * GIB, true);
        PlacementResult.Placed placed = (PlacementResult.Placed) engine.place(tensorParallel);

        Pod pod = KubernetesPlacement.pod(template(), tensorParallel, placed);
        client.pods().inNamespace("factory").resource(pod).create();
        Pod stored = client.pods().inNamespace("factory").withName("replica").get();

        var engineContainer = stored.getSpec().getContainers().getFirst();
        assertThat(engineContainer.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("4"));
        assertThat(engineContainer.getResources().getRequests())
                .containsEntry("nvidia.com/gpu", new Quantity("4"))
                .containsEntry("memory", new Quantity("64Gi"));
        assertThat(stored.getSpec().getContainers().get(1).getResources()).isNull();
        var term = stored.getSpec().getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms().getFirst();
        assertThat(term.getMatchFields()).singleElement().satisfies(r -> {
            assertThat(r.getKey()).isEqualTo("metadata.name");
            assertThat(r.getOperator()).isEqualTo("In");
            assertThat(r.getValues()).containsExactly(placed.node());
        });
        assertThat(stored.getSpec().getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("nvidia.com/gpu");
            assertThat(t.getOperator()).isEqualTo("Exists");
        });
        assertThat(stored.getMetadata().getLabels()).containsEntry("app", "factory-engine")
                .containsEntry(KubernetesPlacement.REPLICA_LABEL, "7");
        assertThat(stored.getMetadata().getAnnotations()).containsEntry(KubernetesPlacement.PRIORITY_ANNOTATION, "1")
                .containsEntry(KubernetesPlacement.PROJECT_ANNOTATION, "alpha");
    }

    @Test
    void evictedReplicasArePodsFoundByTheirLabel() {
        for (long id : List.of(21L, 22L, 23L)) {
            Pod pod = new PodBuilder(template()).editMetadata().withName("replica-" + id).endMetadata().build();
            client.pods().inNamespace("evict").resource(KubernetesPlacement.pod(pod,
                    new ReplicaRequest(id, "beta", 0, "nvidia", 1, GIB), new PlacementResult.Placed(id, "h100-b",
                            List.of(), List.of()))).create();
        }
        // The mock API server answers equality selectors (set-based ones it ignores), so one replica at a time.
        for (long id : List.of(21L, 23L)) {
            assertThat(client.pods().inNamespace("evict").withLabel(KubernetesPlacement.REPLICA_LABEL, Long.toString(id))
                    .list().getItems()).extracting(p -> p.getMetadata().getName()).containsExactly("replica-" + id);
        }
    }

    @Test
    void refusesWhatCannotBecomeAPod() {
        ReplicaRequest request = new ReplicaRequest(1, "alpha", 0, "nvidia", 1, GIB);
        PlacementResult.Placed placed = new PlacementResult.Placed(1, "h100-a", List.of(), List.of());
        assertThatThrownBy(() -> KubernetesPlacement.pod(new PodBuilder().withNewSpec().endSpec().build(), request, placed))
                .hasMessageContaining("no container");
        assertThatThrownBy(() -> KubernetesPlacement.pod(template(), request,
                new PlacementResult.Placed(2, "h100-a", List.of(), List.of()))).hasMessageContaining("replica 2");
        assertThatThrownBy(() -> KubernetesPlacement.pod(template(), new ReplicaRequest(1, "alpha", 0, "tpu", 1, GIB),
                placed)).hasMessageContaining("kind 'tpu'");
        assertThatThrownBy(() -> KubernetesPlacement.nodes(List.of(), "tpu")).hasMessageContaining("known: nvidia, amd, neuron");
    }
}
