package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

/**
 * A compute device that the loaded ggml backends offer ({@code ggml_backend_dev_*}): the CPU, and each GPU of a
 * CUDA, Vulkan or ROCm build. {@code gpuNumber} is its position among the GPUs (what {@code main_gpu} and
 * {@code tensor_split} count), -1 for devices that are not GPUs.
 */
public record BackendDevice(String name, String description, Type type, int gpuNumber, long memoryFree,
                            long memoryTotal) {
    /** {@code enum ggml_backend_dev_type}. */
    public enum Type {
        CPU, GPU, IGPU, ACCEL, META, UNKNOWN;

        static Type of(int value) {
            Type[] known = {CPU, GPU, IGPU, ACCEL, META};
            return value >= 0 && value < known.length ? known[value] : UNKNOWN;
        }

        public boolean isGpu() {
            return this == GPU || this == IGPU;
        }
    }

    public BackendDevice {
        requireNonNull(name, "name is null");
        requireNonNull(description, "description is null");
        requireNonNull(type, "type is null");
    }
}
