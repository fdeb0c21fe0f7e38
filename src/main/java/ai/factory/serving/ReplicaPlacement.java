package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Where one replica runs: on the CPU, or with {@code gpuLayers} layers ({@link #ALL_LAYERS} for all) on the GPUs
 * {@code gpus} (the vendor tool's indices), each taking {@code layersPerGpu} of them and holding
 * {@code bytesPerGpu}. {@code hostBytes} is what stays in host memory (0 for a CPU replica that was never
 * estimated here, as no GPU was in question: the memory planner's own estimate then applies).
 */
public record ReplicaPlacement(int gpuLayers, List<Integer> gpus, List<Integer> layersPerGpu, long bytesPerGpu,
                               long hostBytes) {
    public static final int ALL_LAYERS = -1;

    public ReplicaPlacement {
        gpus = List.copyOf(requireNonNull(gpus, "gpus is null"));
        layersPerGpu = List.copyOf(requireNonNull(layersPerGpu, "layersPerGpu is null"));
        if (gpus.size() != layersPerGpu.size()) {
            throw new IllegalArgumentException("one layer count per GPU: " + gpus + " vs " + layersPerGpu);
        }
        if ((gpuLayers == 0) != gpus.isEmpty()) {
            throw new IllegalArgumentException("GPU layers without GPUs, or GPUs without layers");
        }
    }

    /** Everything on the CPU, in {@code hostBytes} of host memory. */
    public static ReplicaPlacement cpu(long hostBytes) {
        return new ReplicaPlacement(0, List.of(), List.of(), 0, hostBytes);
    }

    public boolean onGpu() {
        return gpuLayers != 0;
    }
}
