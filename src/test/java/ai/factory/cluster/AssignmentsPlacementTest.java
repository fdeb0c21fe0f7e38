package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.ClusterConfig;
import ai.factory.security.audit.AuditEvent;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.ReplicaOf;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which worker the control plane gives a replica, on a real PostgreSQL: nodes as their heartbeats left them (rows
 * written here; joining and heartbeats over mutual TLS are {@code ClusterJoinTest}'s and {@code ClusterServingTest}'s),
 * two with GPUs free and two without.
 */
class AssignmentsPlacementTest {
    @TempDir
    Path dir;

    @Test
    void gpuWorkGoesWhereAGpuIsFreeAndCpuWorkLeavesGpuNodesAlone() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "cpu-a", "{\"accelerators\":[],\"gpusFree\":0}");
            node(jdbi, "cpu-b", "{\"accelerators\":[]}");
            node(jdbi, "gpu-a", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0}],\"gpusFree\":1}");
            node(jdbi, "gpu-b", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0},{\"kind\":\"nvidia\",\"index\":1}],"
                    + "\"gpusFree\":2}");
            Assignments assignments = assignments(jdbi, leadership, ClusterConfig.Placement.SPREAD);

            // Auto: nodes with a GPU free first; gpu-a's one GPU counts as taken once assigned (not reported yet).
            assertThat(place(assignments, "auto", 0, DeploymentSpec.GPU_LAYERS_AUTO)).isEqualTo("gpu-a");
            assertThat(place(assignments, "auto", 1, DeploymentSpec.GPU_LAYERS_AUTO)).isEqualTo("gpu-b");
            assertThat(place(assignments, "auto2", 0, DeploymentSpec.GPU_LAYERS_AUTO)).isEqualTo("gpu-b");
            // No GPU left free anywhere: auto still runs, on the CPU nodes.
            assertThat(place(assignments, "auto3", 0, DeploymentSpec.GPU_LAYERS_AUTO)).startsWith("cpu-");
            // A layer count needs a GPU: with none free, refused, saying so.
            assertThatThrownBy(() -> place(assignments, "layers", 0, 40)).isInstanceOfSatisfying(FactoryException.class,
                    e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("no worker has a GPU free", "'gpuLayers' 40");
                    });
            // CPU work goes to nodes without GPUs first.
            assertThat(place(assignments, "cpu", 0, 0)).startsWith("cpu-");
            assertThat(place(assignments, "cpu", 1, 0)).startsWith("cpu-");
            // Once gpu-a reports its replica (and its GPU taken), the count comes from its report again.
            jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET phase = 'READY' WHERE node_id = "
                    + "'node-gpu-a'").execute());
            jdbi.useHandle(h -> h.createUpdate("UPDATE cluster_nodes SET inventory = :i WHERE id = 'node-gpu-a'")
                    .bind("i", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0}],\"gpusFree\":1}").execute());
            assertThat(assignments.inventoryOf(nodes(jdbi).list().stream().filter(n -> n.name().equals("gpu-a"))
                    .findFirst().orElseThrow()).gpusFree()).isEqualTo(1);
        }
    }

    @Test
    void aReplicaGoesOnlyWhereItFitsInMemoryAndARefusalGivesTheNumbers() {
        long gib = 1L << 30;
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "small", memory(4 * gib));
            node(jdbi, "big", memory(16 * gib));
            Assignments assignments = assignments(jdbi, leadership, ClusterConfig.Placement.SPREAD);

            // 6 GiB fits only on big, twice: the first, still loading, is not in big's report yet and counts there.
            assertThat(place(assignments, "d1", 0, 0, 6 * gib)).isEqualTo("big");
            assertThat(place(assignments, "d1", 1, 0, 6 * gib)).as("spread where it fits, else where there is room")
                    .isEqualTo("big");
            assertThatThrownBy(() -> place(assignments, "d2", 0, 0, 6 * gib))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("no worker has the memory for replica 0 of deployment d2",
                                "needs 6.0 GiB", "the most free on a worker is 4.0 GiB");
                    });
            // Smaller work still goes where it fits (and spreads to the node with fewer assignments).
            assertThat(place(assignments, "d3", 0, 0, 3 * gib)).isEqualTo("small");

            // Loaded, big's replicas are in its report: 16 - 12 = 4 GiB left, still too little for 6 GiB.
            jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET phase = 'READY' WHERE node_id = "
                    + "'node-big'").execute());
            report(jdbi, "big", memory(4 * gib));
            assertThatThrownBy(() -> place(assignments, "d2", 0, 0, 6 * gib)).isInstanceOf(FactoryException.class)
                    .hasMessageContaining("no worker has the memory");
            // Memory freed on big (a replica elsewhere ended): it fits again.
            report(jdbi, "big", memory(10 * gib));
            assertThat(place(assignments, "d2", 0, 0, 6 * gib)).isEqualTo("big");

            // A node with a GPU free takes the layers on its GPU: only the model's file is held on the host meanwhile.
            node(jdbi, "gpu", "{\"memory\":{\"total\":4294967296,\"available\":2147483648},"
                    + "\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0,\"memoryTotal\":85899345920}],"
                    + "\"gpusFree\":1}");
            renewed();
            assertThat(place(assignments, "d4", 0, DeploymentSpec.GPU_LAYERS_AUTO, 6 * gib)).isEqualTo("gpu");
            // More than any worker has in all: refused at once as the caller's to change, not waited on.
            assertThatThrownBy(() -> place(assignments, "d6", 0, 0, 40 * gib))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.getMessage()).contains("needs 40.0 GiB", "more than any worker has in all",
                                "the largest: 32.0 GiB");
                        assertThat(e.getMessage()).contains("1 sequence(s) of 512 tokens");
                    });
            // A GPU too small for the replica: it would run (partly) on the CPU, so the host must hold all of it.
            node(jdbi, "small-gpu", "{\"memory\":{\"total\":8589934592,\"available\":4294967296},"
                    + "\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0,\"memoryTotal\":4294967296}],"
                    + "\"gpusFree\":1}");
            renewed();
            assertThatThrownBy(() -> place(assignments, "d7", 0, DeploymentSpec.GPU_LAYERS_AUTO, 6 * gib))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("no worker has the memory");
            // A node that reports no memory (an older worker) is not judged by it.
            node(jdbi, "older", "{\"accelerators\":[]}");
            renewed();
            assertThat(place(assignments, "d5", 0, 0, 64 * gib)).isEqualTo("older");
        }
    }

    @Test
    void aHigherPriorityEndsTheFewestLowerReplicasLowestAndNewestFirstAndAnEqualOneNone() {
        long gib = 1L << 30;
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "a", memory(16 * gib));
            node(jdbi, "b", memory(16 * gib));
            List<AuditEvent> audited = new java.util.concurrent.CopyOnWriteArrayList<>();
            Assignments assignments = new Assignments(jdbi, nodes(jdbi), leadership, Duration.ofSeconds(10),
                    ClusterConfig.Placement.SPREAD, audited::add, Clock.systemUTC());
            // a: 4 GiB at -20, then two of 4 GiB at -10 (4 GiB left); b: 14 GiB at 5 (2 GiB left).
            assertThat(place(assignments, "lowest", 0, 0, 4 * gib, -20)).isEqualTo("a");
            assertThat(place(assignments, "big", 0, 0, 14 * gib, 5)).isEqualTo("b");
            assertThat(place(assignments, "low", 0, 0, 4 * gib, -10)).isEqualTo("a");
            assertThat(place(assignments, "low", 1, 0, 4 * gib, -10)).isEqualTo("a");
            // A replica still loading is not ended (its first load would fail its deployment): nothing is, yet.
            assertThatThrownBy(() -> place(assignments, "urgent", 0, 0, 8 * gib, 0))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("no worker has the memory");
            loaded(jdbi, "a", memory(4 * gib));
            loaded(jdbi, "b", memory(2 * gib));

            // 8 GiB at 0: ending the lowest on a (one replica) beats ending b's 5 (not lower anyway).
            Assignments.Placed first = assignments.place(new ReplicaOf("urgent", 0), work("urgent", 0, 0, 8 * gib, 0));
            assertThat(first.node().name()).isEqualTo("a");
            assertThat(first.work().displaces()).hasSize(1);
            assertThat(deploymentOf(jdbi, first.work().displaces().getFirst())).as("ended").isNull();
            assertThat(assignmentsOf(jdbi, "lowest")).isZero();
            assertThat(audited).singleElement().satisfies(e -> {
                assertThat(e.action()).isEqualTo(Assignments.AUDIT_PREEMPTED);
                assertThat(e.resource()).isEqualTo("deployment=lowest");
                assertThat(e.detail()).contains("ended on node a", "for replica 0 of deployment urgent",
                        "priority 0 over its -20");
            });

            // The one ended finds no room, and says why.
            assertThatThrownBy(() -> place(assignments, "lowest", 0, 0, 4 * gib, -20))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("no worker has the memory", "it was ended on node a",
                                "for replica 0 of deployment urgent (acme/m:1, priority 0 over its -20)");
                    });
            // An equal priority ends nothing.
            assertThatThrownBy(() -> place(assignments, "peer", 0, 0, 8 * gib, -10))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("no worker has the memory");
            assertThat(assignmentsOf(jdbi, "low")).isEqualTo(2);

            // 12 GiB at 10: a ends no more while urgent waits for the one ended for it (its memory is in a's report
            // until it unloads); b has 2 GiB free and 14 GiB at 5: b.
            Assignments.Placed second = assignments.place(new ReplicaOf("first", 0), work("first", 0, 0, 12 * gib, 10));
            assertThat(second.node().name()).isEqualTo("b");
            assertThat(assignmentsOf(jdbi, "big")).isZero();
            // urgent loaded on a, the lowest gone: 0 GiB free. 6 GiB at 10 on a: the two at -10 go, the newer
            // (replica 1) first, before the one at 0; b waits for first.
            loaded(jdbi, "a", memory(0));
            Assignments.Placed third = assignments.place(new ReplicaOf("second", 0), work("second", 0, 0, 6 * gib, 10));
            assertThat(third.node().name()).isEqualTo("a");
            assertThat(third.work().displaces()).hasSize(2);
            assertThat(assignmentsOf(jdbi, "low")).isZero();
            assertThat(assignmentsOf(jdbi, "urgent")).isEqualTo(1);

            // Placed again where there is room, a replica that was ended is no longer said to have been.
            node(jdbi, "c", memory(16 * gib));
            renewed();
            assertThat(place(assignments, "lowest", 0, 0, 4 * gib, -20)).isEqualTo("c");
        }
    }

    @Test
    void aProjectsAcceleratorQuotaCapsItsReplicasGpusAcrossTheWorkers() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "gpu-a", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0},{\"kind\":\"nvidia\","
                    + "\"index\":1}],\"gpusFree\":2}");
            node(jdbi, "gpu-b", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0},{\"kind\":\"nvidia\","
                    + "\"index\":1}],\"gpusFree\":2}");
            Assignments assignments = new Assignments(jdbi, nodes(jdbi), leadership, Duration.ofSeconds(10),
                    ClusterConfig.Placement.SPREAD, project -> project.equals("default") ? 3 : -1, e -> { },
                    Clock.systemUTC());
            Assignments.Placed first = assignments.place(new ReplicaOf("d1", 0), work("d1", 0, -1, 0, 0));
            assertThat(first.work().maxGpus()).isEqualTo(3);
            // Not loaded yet, it counts what it may take: all three.
            assertThat(assignments.place(new ReplicaOf("d9", 0), work("d9", 0, -1, 0, 0)).work().maxGpus()).isZero();
            jdbi.useHandle(h -> h.createUpdate("DELETE FROM replica_assignments WHERE deployment_id = 'd9'").execute());
            // Reported: the worker gave it two. One left.
            jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET phase = 'READY', gpus = 2 WHERE id = :id")
                    .bind("id", first.work().assignment()).execute());
            Assignments.Placed second = assignments.place(new ReplicaOf("d1", 1), work("d1", 1, -1, 0, 0));
            assertThat(second.work().maxGpus()).isEqualTo(1);
            assertThat(second.work().gpuLayers()).isEqualTo(-1);
            // None left: auto runs on CPUs, a layer count waits, saying why.
            Assignments.Placed third = assignments.place(new ReplicaOf("d2", 0), work("d2", 0, -1, 0, 0));
            assertThat(third.work().maxGpus()).isZero();
            assertThat(third.work().usesGpus()).as("kept on the CPU").isFalse();
            assertThat(third.work().gpuLayers()).as("as the deployment asked, for when it is placed again").isEqualTo(-1);
            assertThatThrownBy(() -> assignments.place(new ReplicaOf("d3", 0), work("d3", 0, 40, 0, 0)))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("project default holds 3 of the 3 accelerators its quota "
                                + "allows", "--accelerators N");
                    });
            // Another project's replicas are not counted against it, nor limited by it.
            ReplicaWork other = new ReplicaWork("", "o1", 0, "other/m:1", "other", "0".repeat(64), 1, 512, 1, 0, 8, 0,
                    "f16", 0, 40, 0, 0, null, "other", null);
            assertThat(assignments.place(new ReplicaOf("o1", 0), other).work().maxGpus()).isEqualTo(-1);
            // A replica placed again does not count its own old assignment.
            assertThat(assignments.place(new ReplicaOf("d1", 0), work("d1", 0, -1, 0, 0)).work().maxGpus())
                    .as("the 1 of d1's second replica counted, not d1's first's own 2").isEqualTo(2);
        }
    }

    @Test
    void gpuWorkEndsALowerReplicaThatMayHoldAGpuWhereNoneIsFree() {
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "gpu", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0}],\"gpusFree\":1}");
            Assignments assignments = assignments(jdbi, leadership, ClusterConfig.Placement.SPREAD);
            assertThat(place(assignments, "gpu-low", 0, 40, 0, -5)).isEqualTo("gpu");
            assertThat(place(assignments, "cpu-low", 0, DeploymentSpec.GPU_LAYERS_AUTO, 0, -5)).isEqualTo("gpu");
            // Loaded: the worker gave gpu-low the GPU; cpu-low, auto, found none and runs on the CPU.
            loaded(jdbi, "gpu", "{\"accelerators\":[{\"kind\":\"nvidia\",\"index\":0}],\"gpusFree\":0}");
            jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET gpus = CASE WHEN deployment_id = "
                    + "'gpu-low' THEN 1 ELSE 0 END").execute());
            // Its one GPU is taken: the newer replica, on the CPU by its report, gives none back and stays; the GPU
            // one ends.
            Assignments.Placed placed = assignments.place(new ReplicaOf("gpu-high", 0), work("gpu-high", 0, 40, 0, 5));
            assertThat(placed.work().displaces()).hasSize(1);
            assertThat(assignmentsOf(jdbi, "gpu-low")).isZero();
            assertThat(assignmentsOf(jdbi, "cpu-low")).isEqualTo(1);
        }
    }

    @Test
    void binPackingFillsTheFullestWorkerThatFitsWhereSpreadingTakesTheEmptiest() {
        long gib = 1L << 30;
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            node(jdbi, "a", memory(16 * gib));
            node(jdbi, "b", memory(8 * gib));
            node(jdbi, "c", "{\"accelerators\":[]}"); // reports no memory: last when packing
            Assignments packing = assignments(jdbi, leadership, ClusterConfig.Placement.BINPACK);
            // b has the least left once a 3 GiB replica is there (5 GiB), then 2 GiB; the third no longer fits on b.
            assertThat(place(packing, "p", 0, 0, 3 * gib)).isEqualTo("b");
            assertThat(place(packing, "p", 1, 0, 3 * gib)).as("a deployment's replicas together").isEqualTo("b");
            assertThat(place(packing, "p", 2, 0, 3 * gib)).isEqualTo("a");
            assertThat(place(packing, "q", 0, 0, 3 * gib)).as("the fullest that fits: a with 13 GiB").isEqualTo("a");

            Assignments spreading = assignments(jdbi, leadership, ClusterConfig.Placement.SPREAD);
            assertThat(place(spreading, "s", 0, 0, 1 * gib)).as("no assignment yet, then by name").isEqualTo("c");
            assertThat(place(spreading, "s", 1, 0, 1 * gib)).as("a worker without this deployment, fewest assignments")
                    .isNotEqualTo("c");
        }
    }

    @Test
    void gpuWorkGoesFirstWhereTheFreeGpusHoldAllOfIt() {
        long gib = 1L << 30;
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
                Leadership leadership = Leadership.on(db.jdbi(), Clock.systemUTC())) {
            Jdbi jdbi = db.jdbi();
            // "a-one" sorts first by name and has one 24 GiB GPU free; "b-two" has two.
            node(jdbi, "a-one", gpus(1, 24 * gib));
            node(jdbi, "b-two", gpus(2, 24 * gib));
            Assignments assignments = assignments(jdbi, leadership, ClusterConfig.Placement.SPREAD);
            // 40 GiB: on one GPU it would run partly on the CPU; on two it runs on the GPUs alone.
            assertThat(place(assignments, "big", 0, DeploymentSpec.GPU_LAYERS_AUTO, 40 * gib)).isEqualTo("b-two");
            // 10 GiB fits on either: the usual order (fewest assignments, then name).
            assertThat(place(assignments, "small", 0, DeploymentSpec.GPU_LAYERS_AUTO, 10 * gib)).isEqualTo("a-one");
        }
    }

    private static String gpus(int free, long memoryEach) {
        StringBuilder accelerators = new StringBuilder();
        for (int i = 0; i < free; i++) {
            accelerators.append(i == 0 ? "" : ",").append("{\"kind\":\"nvidia\",\"index\":").append(i)
                    .append(",\"memoryTotal\":").append(memoryEach).append('}');
        }
        return "{\"memory\":{\"total\":" + (256L << 30) + ",\"available\":" + (200L << 30) + "},\"accelerators\":["
                + accelerators + "],\"gpusFree\":" + free + "}";
    }

    private static String memory(long available) {
        return "{\"memory\":{\"total\":" + (32L << 30) + ",\"available\":" + available + "},\"accelerators\":[]}";
    }

    /** A node's next heartbeat. */
    private static void report(Jdbi jdbi, String name, String inventory) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE cluster_nodes SET inventory = :i WHERE id = :id")
                .bind("i", inventory).bind("id", "node-" + name).execute());
        renewed();
    }

    /** Waits until the scheduler's view of the nodes is renewed. */
    private static void renewed() {
        try {
            Thread.sleep(Nodes.RECENT.toMillis() + 50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The scheduler over the nodes rows written here (no joins), with a heartbeat deadline of 10 s. */
    private static Assignments assignments(Jdbi jdbi, Leadership leadership, ClusterConfig.Placement placement) {
        return new Assignments(jdbi, nodes(jdbi), leadership, Duration.ofSeconds(10), placement, e -> { },
                Clock.systemUTC());
    }

    private static Nodes nodes(Jdbi jdbi) {
        return new Nodes(jdbi, new JoinTokens(jdbi, Clock.systemUTC()), () -> {
            throw new IllegalStateException("no joins here");
        }, e -> { }, Clock.systemUTC());
    }

    private static String place(Assignments assignments, String deployment, int replica, int gpuLayers) {
        return place(assignments, deployment, replica, gpuLayers, 0);
    }

    private static String place(Assignments assignments, String deployment, int replica, int gpuLayers, long memory) {
        return place(assignments, deployment, replica, gpuLayers, memory, 0);
    }

    private static String place(Assignments assignments, String deployment, int replica, int gpuLayers, long memory,
                                int priority) {
        return assignments.place(new ReplicaOf(deployment, replica), work(deployment, replica, gpuLayers, memory,
                priority)).node().name();
    }

    private static ReplicaWork work(String deployment, int replica, int gpuLayers, long memory, int priority) {
        return new ReplicaWork("", deployment, replica, "acme/m:1", "default", "0".repeat(64), 1, 512, 1, 0, 8, 0,
                "f16", 0, gpuLayers, memory, priority, null, "default", null);
    }

    /** The node's replicas loaded and reported, and its inventory as its next heartbeat gives it. */
    private static void loaded(Jdbi jdbi, String name, String inventory) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET phase = 'READY' WHERE node_id = :id")
                .bind("id", "node-" + name).execute());
        report(jdbi, name, inventory);
    }

    private static int assignmentsOf(Jdbi jdbi, String deployment) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM replica_assignments WHERE deployment_id = :d")
                .bind("d", deployment).mapTo(Integer.class).one());
    }

    private static String deploymentOf(Jdbi jdbi, String assignment) {
        return jdbi.withHandle(h -> h.createQuery("SELECT deployment_id FROM replica_assignments WHERE id = :id")
                .bind("id", assignment).mapTo(String.class).findOne().orElse(null));
    }

    private static void node(Jdbi jdbi, String name, String inventory) {
        Instant now = Instant.now();
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO cluster_nodes (id, name, state, certificate_serial, "
                        + "certificate_sha256, certificate_expires_at, join_token, address, version, inventory, joined_at, "
                        + "last_seen_at, removed_at, serving_port) VALUES (:id, :name, 'READY', :serial, :sha, :expires, "
                        + "'tok', '10.0.0.1', 'test', :inventory, :now, :now, NULL, 7600)")
                .bind("id", "node-" + name).bind("name", name).bind("serial", name).bind("sha", name.repeat(2))
                .bind("expires", Timestamp.from(now.plusSeconds(3600))).bind("inventory", inventory)
                .bind("now", Timestamp.from(now)).execute());
    }
}
