package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * What one node has: CPUs, memory, accelerators, and what discovery could not find out (each warning says which
 * tool failed and why; the rest of the inventory is still good).
 */
public record NodeInventory(String nodeName, CpuInfo cpu, long memoryTotalBytes, long memoryAvailableBytes,
                            List<Accelerator> accelerators, List<String> discoveryWarnings) {
    public NodeInventory {
        requireNonNull(nodeName, "nodeName is null");
        requireNonNull(cpu, "cpu is null");
        if (memoryTotalBytes < 0 || memoryAvailableBytes < 0) {
            throw new IllegalArgumentException("memory must not be negative");
        }
        accelerators = List.copyOf(accelerators);
        discoveryWarnings = List.copyOf(discoveryWarnings);
    }
}
