package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A node as placement sees it: {@code gpus} accelerators of one kind, each with {@code memoryPerGpu} bytes.
 * {@code domains} are the sizes of its interconnect domains (NVLink or NVSwitch islands, a Neuron ring) in device
 * order: {@code [4, 4]} says devices 0–3 talk to each other over one fabric and 4–7 over another, so a
 * tensor-parallel replica of 4 fits in either and one of 8 fits nowhere on it. One domain of all devices when the
 * node has one fabric, or none that the driver reports.
 */
public record PlacementNode(String name, String kind, int gpus, long memoryPerGpu, List<Integer> domains) {
    public PlacementNode {
        requireNonNull(name, "name is null");
        requireNonNull(kind, "kind is null");
        if (gpus < 1 || gpus > 64) {
            throw new IllegalArgumentException("gpus must be between 1 and 64: " + gpus);
        }
        if (memoryPerGpu <= 0) {
            throw new IllegalArgumentException("memoryPerGpu must be positive: " + memoryPerGpu);
        }
        domains = List.copyOf(domains);
        if (domains.isEmpty() || domains.stream().anyMatch(d -> d < 1)
                || domains.stream().mapToInt(Integer::intValue).sum() != gpus) {
            throw new IllegalArgumentException("domains must be positive sizes that add up to gpus (" + gpus + "): " + domains);
        }
    }

    /** A node whose devices share one interconnect domain. */
    public PlacementNode(String name, String kind, int gpus, long memoryPerGpu) {
        this(name, kind, gpus, memoryPerGpu, List.of(gpus));
    }

    /** The size of the largest domain: the most devices one tensor-parallel replica can have here. */
    public int largestDomain() {
        return domains.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }
}
