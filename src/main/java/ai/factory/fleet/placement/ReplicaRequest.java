package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

/**
 * One replica to place: {@code gpus} accelerators of {@code kind}, each with at least {@code memoryPerGpu} bytes,
 * on one node; higher {@code priority} may evict lower. A {@code tensorParallel} replica exchanges activations
 * every layer, so all its devices must share one interconnect domain (see {@link PlacementNode#domains()}); others
 * (one device, or layers split across devices) take any free devices of the node.
 */
public record ReplicaRequest(long id, String project, int priority, String kind, int gpus, long memoryPerGpu,
                             boolean tensorParallel) {
    public ReplicaRequest {
        requireNonNull(project, "project is null");
        requireNonNull(kind, "kind is null");
        if (gpus < 1) {
            throw new IllegalArgumentException("gpus must be at least 1: " + gpus);
        }
        if (memoryPerGpu < 0) {
            throw new IllegalArgumentException("memoryPerGpu must not be negative: " + memoryPerGpu);
        }
    }

    /** A replica that needs no common interconnect domain. */
    public ReplicaRequest(long id, String project, int priority, String kind, int gpus, long memoryPerGpu) {
        this(id, project, priority, kind, gpus, memoryPerGpu, false);
    }
}
