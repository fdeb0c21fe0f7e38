package ai.factory.fleet;

/** A MIG (multi-instance GPU) slice of an NVIDIA GPU, as {@code nvidia-smi -q -x} lists it. */
public record MigInstance(int index, int gpuInstanceId, int computeInstanceId, int multiprocessors,
                          long memoryTotalBytes, long memoryUsedBytes) {
    public MigInstance {
        if (index < 0 || gpuInstanceId < 0 || computeInstanceId < 0 || multiprocessors < 0) {
            throw new IllegalArgumentException("MIG ids and counts must not be negative");
        }
        if (memoryTotalBytes < 0 || memoryUsedBytes < 0) {
            throw new IllegalArgumentException("MIG memory must not be negative");
        }
    }
}
