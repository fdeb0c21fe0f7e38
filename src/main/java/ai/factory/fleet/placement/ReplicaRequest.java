package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

/**
 * One replica to place: {@code gpus} accelerators of {@code kind}, each with at least {@code memoryPerGpu} bytes,
 * on one node (so within one interconnect domain, NVLink or the Neuron ring); higher {@code priority} may evict lower.
 */
public record ReplicaRequest(long id, String project, int priority, String kind, int gpus, long memoryPerGpu) {
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
}
