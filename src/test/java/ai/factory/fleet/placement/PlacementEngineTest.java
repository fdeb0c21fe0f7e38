package ai.factory.fleet.placement;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.fleet.placement.PlacementEngine.Scoring;
import ai.factory.fleet.placement.PlacementResult.Placed;
import ai.factory.fleet.placement.PlacementResult.Reason;
import ai.factory.fleet.placement.PlacementResult.Rejected;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementEngineTest {
    private static final long GIB = 1L << 30;

    private static List<PlacementNode> nodes(int count, int gpus) {
        return java.util.stream.IntStream.range(0, count)
                .mapToObj(i -> new PlacementNode("n" + i, "nvidia", gpus, 80 * GIB)).toList();
    }

    private static ReplicaRequest replica(long id, String project, int priority, int gpus) {
        return new ReplicaRequest(id, project, priority, "nvidia", gpus, 40 * GIB);
    }

    @Test
    void binPackingFillsThePartlyUsedNodeFirst() {
        PlacementEngine engine = new PlacementEngine(nodes(3, 8), Map.of(), Scoring.BIN_PACK);
        assertThat(engine.place(replica(1, "a", 0, 2))).isEqualTo(new Placed(1, "n0", List.of(), List.of()));
        assertThat(((Placed) engine.place(replica(2, "a", 0, 4))).node()).isEqualTo("n0");
        assertThat(((Placed) engine.place(replica(3, "a", 0, 4))).node()).isEqualTo("n1");
        assertThat(((Placed) engine.place(replica(4, "a", 0, 2))).node()).isEqualTo("n0");
        assertThat(engine.fragmentation()).isGreaterThan(0);
    }

    @Test
    void spreadingPutsReplicasOnTheEmptiestNodes() {
        PlacementEngine engine = new PlacementEngine(nodes(3, 8), Map.of(), Scoring.SPREAD);
        assertThat(List.of(1, 2, 3).stream().map(i -> ((Placed) engine.place(replica(i, "a", 0, 1))).node()))
                .containsExactly("n0", "n1", "n2");
    }

    @Test
    void rejectsWhenTheProjectQuotaWouldBeExceeded() {
        PlacementEngine engine = new PlacementEngine(nodes(4, 8), Map.of("team-a", 10), Scoring.BIN_PACK);
        assertThat(engine.place(replica(1, "team-a", 0, 8))).isInstanceOf(Placed.class);
        PlacementResult refused = engine.place(replica(2, "team-a", 0, 4));
        assertThat(refused).isInstanceOfSatisfying(Rejected.class, r -> {
            assertThat(r.reason()).isEqualTo(Reason.QUOTA);
            assertThat(r.message()).contains("team-a", "8 of its 10");
        });
        assertThat(engine.place(replica(3, "team-b", 0, 4))).isInstanceOf(Placed.class);
        engine.release(1);
        assertThat(engine.place(replica(2, "team-a", 0, 4))).isInstanceOf(Placed.class);
    }

    @Test
    void higherPriorityEvictsTheNewestLowestPriorityReplicaWhichIsLostWhenNothingElseHoldsIt() {
        PlacementEngine engine = new PlacementEngine(nodes(2, 8), Map.of(), Scoring.BIN_PACK);
        engine.place(replica(1, "batch", 0, 4));
        engine.place(replica(2, "batch", 0, 4));
        engine.place(replica(3, "batch", 0, 6));
        PlacementResult urgent = engine.place(replica(10, "prod", 5, 4));
        assertThat(urgent).isInstanceOfSatisfying(Placed.class, p -> {
            // the lowest priority, newest first: replica 3 on n1, and its 6 fit nowhere else
            assertThat(p.node()).isEqualTo("n1");
            assertThat(p.evicted()).containsExactly(3L);
            assertThat(p.lost()).containsExactly(3L);
        });
        assertThat(engine.nodeOf(3)).isNull();
        assertThat(engine.nodeOf(1)).isEqualTo("n0");
        PlacementResult again = engine.place(replica(11, "prod", 5, 2));
        assertThat(again).isInstanceOfSatisfying(Placed.class, p -> assertThat(p.evicted()).isEmpty());
    }

    @Test
    void anEvictedReplicaMovesToAnotherNodeWhenThereIsRoom() {
        PlacementEngine engine = new PlacementEngine(nodes(2, 8), Map.of(), Scoring.SPREAD);
        engine.place(replica(1, "batch", 0, 6));
        engine.place(replica(2, "batch", 0, 2));
        PlacementResult urgent = engine.place(replica(10, "prod", 9, 8));
        assertThat(urgent).isInstanceOfSatisfying(Placed.class, p -> {
            assertThat(p.node()).isEqualTo("n1");
            assertThat(p.evicted()).containsExactly(2L);
            assertThat(p.lost()).isEmpty();
        });
        assertThat(engine.nodeOf(2)).isEqualTo("n0");
    }

    @Test
    void equalPriorityNeverPreempts() {
        PlacementEngine engine = new PlacementEngine(nodes(1, 8), Map.of(), Scoring.BIN_PACK);
        engine.place(replica(1, "a", 3, 8));
        assertThat(engine.place(replica(2, "b", 3, 1))).isInstanceOfSatisfying(Rejected.class,
                r -> assertThat(r.reason()).isEqualTo(Reason.NO_CAPACITY));
    }

    @Test
    void aFailedNodesReplicasArePlacedElsewhere() {
        PlacementEngine engine = new PlacementEngine(nodes(2, 8), Map.of(), Scoring.BIN_PACK);
        engine.place(replica(1, "a", 0, 4));
        engine.place(replica(2, "a", 0, 2));
        List<PlacementResult> moved = engine.fail("n0");
        assertThat(moved).extracting(PlacementResult::replicaId).containsExactly(1L, 2L);
        assertThat(engine.nodeOf(1)).isEqualTo("n1");
        assertThat(engine.nodeOf(2)).isEqualTo("n1");
        assertThat(engine.totalGpus()).isEqualTo(8);
        engine.recover("n0");
        assertThat(engine.totalGpus()).isEqualTo(16);
    }

    @Test
    void memoryAndSizeTheNodesCannotOfferAreUnsatisfiable() {
        PlacementEngine engine = new PlacementEngine(nodes(2, 4), Map.of(), Scoring.BIN_PACK);
        assertThat(engine.place(new ReplicaRequest(1, "a", 0, "nvidia", 1, 141 * GIB)))
                .isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.reason()).isEqualTo(Reason.UNSATISFIABLE));
        assertThat(engine.place(replica(2, "a", 0, 8)))
                .isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.reason()).isEqualTo(Reason.UNSATISFIABLE));
        assertThat(engine.place(new ReplicaRequest(3, "a", 0, "neuron", 1, 1)))
                .isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.reason()).isEqualTo(Reason.UNSATISFIABLE));
    }
}
