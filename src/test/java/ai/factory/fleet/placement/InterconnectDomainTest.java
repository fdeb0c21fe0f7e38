package ai.factory.fleet.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.fleet.placement.PlacementEngine.Scoring;
import ai.factory.fleet.placement.PlacementResult.Placed;
import ai.factory.fleet.placement.PlacementResult.Reason;
import ai.factory.fleet.placement.PlacementResult.Rejected;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tensor-parallel replicas within one interconnect domain, and the devices each replica holds. */
class InterconnectDomainTest {
    private static final long GIB = 1L << 30;

    /** Eight devices in two NVLink islands of four. */
    private static PlacementNode twoIslands(String name) {
        return new PlacementNode(name, "nvidia", 8, 80 * GIB, List.of(4, 4));
    }

    private static ReplicaRequest tp(long id, int priority, int gpus) {
        return new ReplicaRequest(id, "p", priority, "nvidia", gpus, 40 * GIB, true);
    }

    private static ReplicaRequest plain(long id, int priority, int gpus) {
        return new ReplicaRequest(id, "p", priority, "nvidia", gpus, 40 * GIB);
    }

    @Test
    void aTensorParallelReplicaLargerThanEveryDomainIsUnsatisfiableButASplitOneFits() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0")), Map.of(), Scoring.BIN_PACK);
        assertThat(engine.place(tp(1, 0, 8))).isInstanceOfSatisfying(Rejected.class, r -> {
            assertThat(r.reason()).isEqualTo(Reason.UNSATISFIABLE);
            assertThat(r.message()).contains("8 nvidia accelerators", "one interconnect domain");
        });
        assertThat(engine.place(plain(2, 0, 8))).isInstanceOf(Placed.class);
        assertThat(engine.devicesOf(2)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    }

    @Test
    void tensorParallelReplicasStayInsideOneDomain() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0")), Map.of(), Scoring.BIN_PACK);
        engine.place(plain(1, 0, 1));
        engine.place(plain(2, 0, 2));
        assertThat(engine.devicesOf(1)).containsExactly(0);
        assertThat(engine.devicesOf(2)).containsExactly(1, 2);
        // 5 devices are free but only 1 + 4 per domain: a TP replica of 4 takes the untouched island.
        assertThat(engine.place(tp(3, 0, 4))).isInstanceOf(Placed.class);
        assertThat(engine.devicesOf(3)).containsExactly(4, 5, 6, 7);
        // One device left (3): a TP replica of 2 finds no domain with 2 free.
        assertThat(engine.place(tp(4, 0, 2))).isInstanceOfSatisfying(Rejected.class,
                r -> assertThat(r.reason()).isEqualTo(Reason.NO_CAPACITY));
        assertThat(engine.place(plain(5, 0, 1))).isInstanceOf(Placed.class);
        assertThat(engine.devicesOf(5)).containsExactly(3);
    }

    @Test
    void aTensorParallelReplicaGoesToTheNodeWhoseDomainHasRoomNotTheOneWithMoreFreeDevices() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0"), twoIslands("n1")), Map.of(),
                Scoring.SPREAD);
        engine.place(plain(1, 0, 1)); // n0: device 0
        engine.place(plain(2, 0, 1)); // n1: device 0
        engine.place(plain(3, 0, 1)); // n0: device 4 (spreading takes the freer island)
        engine.place(tp(4, 0, 4));    // n1: devices 4-7, the only island with 4 free
        assertThat(engine.devicesOf(3)).containsExactly(4);
        assertThat(engine.nodeOf(4)).isEqualTo("n1");
        assertThat(engine.devicesOf(4)).containsExactly(4, 5, 6, 7);
        engine.release(2);
        // n0 has 6 free (3 + 3), n1 has 4 (4 + 0): spreading prefers n0, but only n1 has 4 in one island.
        engine.place(tp(5, 0, 4));
        assertThat(engine.nodeOf(5)).isEqualTo("n1");
        assertThat(engine.devicesOf(5)).containsExactly(0, 1, 2, 3);
        engine.release(5);
        engine.place(plain(6, 0, 4));
        assertThat(engine.nodeOf(6)).isEqualTo("n0");
        assertThat(engine.devicesOf(6)).containsExactly(1, 2, 3, 5);
    }

    @Test
    void noTwoReplicasEverShareADevice() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0"), twoIslands("n1")), Map.of(),
                Scoring.SPREAD);
        java.util.SplittableRandom random = new java.util.SplittableRandom(11);
        java.util.List<Long> live = new java.util.ArrayList<>();
        for (long id = 1; id <= 2_000; id++) {
            if (!live.isEmpty() && random.nextInt(3) == 0) {
                engine.release(live.remove(random.nextInt(live.size())));
            }
            ReplicaRequest req = random.nextBoolean() ? tp(id, random.nextInt(3), 1 + random.nextInt(4))
                    : plain(id, random.nextInt(3), 1 + random.nextInt(3));
            PlacementResult result = engine.place(req);
            if (result instanceof Placed p) {
                live.add(id);
                live.removeAll(p.lost());
            }
            java.util.Map<String, java.util.Set<Integer>> held = new java.util.HashMap<>();
            for (long other : live) {
                for (int d : engine.devicesOf(other)) {
                    assertThat(held.computeIfAbsent(engine.nodeOf(other), k -> new java.util.HashSet<>()).add(d))
                            .as("device %d of %s held twice", d, engine.nodeOf(other)).isTrue();
                }
            }
            assertThat(held.values().stream().mapToInt(java.util.Set::size).sum()).isEqualTo(engine.usedGpus());
        }
    }

    @Test
    void preemptionForATensorParallelReplicaEvictsOnlyInsideTheDomainItTakes() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0")), Map.of(), Scoring.BIN_PACK);
        engine.place(plain(1, 0, 2)); // devices 0-1
        engine.place(plain(2, 2, 2)); // 2-3, high priority
        engine.place(plain(3, 0, 2)); // 4-5
        engine.place(plain(4, 0, 2)); // 6-7
        assertThat(engine.devicesOf(3)).containsExactly(4, 5);
        PlacementResult r = engine.place(tp(5, 1, 4));
        assertThat(r).isInstanceOfSatisfying(Placed.class, p -> {
            assertThat(p.evicted()).containsExactlyInAnyOrder(3L, 4L);
            assertThat(p.lost()).containsExactlyInAnyOrder(3L, 4L);
        });
        assertThat(engine.devicesOf(5)).containsExactly(4, 5, 6, 7);
        assertThat(engine.devicesOf(1)).containsExactly(0, 1);
    }

    @Test
    void domainsMustAddUpToTheDevices() {
        assertThatThrownBy(() -> new PlacementNode("n", "nvidia", 8, GIB, List.of(4, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("add up to gpus (8)");
        assertThatThrownBy(() -> new PlacementNode("n", "nvidia", 8, GIB, List.of(8, 0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new PlacementNode("n", "nvidia", 8, GIB).domains()).containsExactly(8);
    }

    @Test
    void aFailedNodesReplicasMoveAndItComesBackEmpty() {
        PlacementEngine engine = new PlacementEngine(List.of(twoIslands("n0"), twoIslands("n1")), Map.of(),
                Scoring.BIN_PACK);
        engine.place(tp(1, 0, 4));
        engine.place(tp(2, 0, 4));
        assertThat(engine.nodeOf(1)).isEqualTo("n0");
        assertThat(engine.nodeOf(2)).isEqualTo("n0");
        List<PlacementResult> moved = engine.fail("n0");
        assertThat(moved).allMatch(r -> r instanceof Placed p && p.node().equals("n1"));
        assertThat(engine.devicesOf(1)).containsExactly(0, 1, 2, 3);
        assertThat(engine.devicesOf(2)).containsExactly(4, 5, 6, 7);
        engine.recover("n0");
        assertThat(engine.place(tp(3, 0, 4))).isInstanceOfSatisfying(Placed.class, p -> assertThat(p.node()).isEqualTo("n0"));
        assertThat(engine.devicesOf(3)).containsExactly(0, 1, 2, 3);
    }
}
