package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * An NVIDIA GPU. {@code computeCapability} is like {@code "9.0"}; {@code mig} lists its MIG instances when MIG
 * is enabled; {@code nvlinkDomain} names the NVLink fabric (cluster UUID and clique) it shares with other GPUs,
 * where the driver reports one (NVSwitch systems, GB200 NVL).
 */
public record NvidiaGpu(int index, String uuid, String name, long memoryTotalBytes, long memoryUsed,
                        String computeCapability, String driverVersion, List<MigInstance> mig,
                        Optional<String> nvlinkDomain) implements Accelerator {
    public NvidiaGpu {
        if (index < 0) {
            throw new IllegalArgumentException("index must not be negative: " + index);
        }
        requireNonNull(uuid, "uuid is null");
        requireNonNull(name, "name is null");
        requireNonNull(computeCapability, "computeCapability is null");
        requireNonNull(driverVersion, "driverVersion is null");
        if (memoryTotalBytes < 0 || memoryUsed < 0) {
            throw new IllegalArgumentException("memory must not be negative");
        }
        mig = List.copyOf(mig);
        requireNonNull(nvlinkDomain, "nvlinkDomain is null");
    }

    /** This GPU with the details only {@code nvidia-smi -q -x} reports. */
    public NvidiaGpu withDetails(List<MigInstance> mig, Optional<String> nvlinkDomain) {
        return new NvidiaGpu(index, uuid, name, memoryTotalBytes, memoryUsed, computeCapability, driverVersion, mig,
                nvlinkDomain);
    }

    @Override
    public Kind kind() {
        return Kind.NVIDIA;
    }

    @Override
    public OptionalLong memoryUsedBytes() {
        return OptionalLong.of(memoryUsed);
    }
}
