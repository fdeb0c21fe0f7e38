package ai.factory.fleet;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.util.OptionalLong;

/**
 * An AMD Instinct or Radeon GPU: {@code target} is its LLVM target such as {@code gfx942}. Memory in use is
 * known when {@code rocm-smi} reported it ({@code amd-smi static} does not).
 */
public record AmdGpu(int index, String name, long memoryTotalBytes, OptionalLong memoryUsedBytes, String target,
                     int computeUnits, String pciAddress, String driverVersion) implements Accelerator {
    public AmdGpu {
        if (index < 0 || memoryTotalBytes < 0 || computeUnits < 0) {
            throw new IllegalArgumentException("AMD GPU numbers must not be negative");
        }
        requireNonNull(name, "name is null");
        requireNonNull(memoryUsedBytes, "memoryUsedBytes is null");
        requireNonNull(target, "target is null");
        requireNonNull(pciAddress, "pciAddress is null");
        requireNonNull(driverVersion, "driverVersion is null");
    }

    @Override
    public Kind kind() {
        return Kind.AMD;
    }
}
