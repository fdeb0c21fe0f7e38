package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

/** A node as placement sees it: {@code gpus} accelerators of one kind, each with {@code memoryPerGpu} bytes. */
public record PlacementNode(String name, String kind, int gpus, long memoryPerGpu) {
    public PlacementNode {
        requireNonNull(name, "name is null");
        requireNonNull(kind, "kind is null");
        if (gpus < 1 || gpus > 64) {
            throw new IllegalArgumentException("gpus must be between 1 and 64: " + gpus);
        }
        if (memoryPerGpu <= 0) {
            throw new IllegalArgumentException("memoryPerGpu must be positive: " + memoryPerGpu);
        }
    }
}
