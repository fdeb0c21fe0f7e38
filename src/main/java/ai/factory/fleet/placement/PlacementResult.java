package ai.factory.fleet.placement;

import java.util.List;

/** What became of one request; a closed set. */
public sealed interface PlacementResult {
    long replicaId();

    /** Placed on {@code node}; {@code evicted} lower-priority replicas made room (each then placed again or lost). */
    record Placed(long replicaId, String node, List<Long> evicted, List<Long> lost) implements PlacementResult {
        public Placed {
            evicted = List.copyOf(evicted);
            lost = List.copyOf(lost);
        }
    }

    record Rejected(long replicaId, Reason reason, String message) implements PlacementResult {}

    enum Reason {
        /** The project would exceed its accelerator quota. */
        QUOTA,
        /** No node has room, even after evicting lower priorities. */
        NO_CAPACITY,
        /** No node has accelerators of that kind with that much memory, or that many on one node. */
        UNSATISFIABLE
    }
}
