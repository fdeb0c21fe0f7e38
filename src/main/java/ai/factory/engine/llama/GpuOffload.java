package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;

/**
 * Which layers of a model llama.cpp keeps on which GPUs: the {@code n_gpu_layers}, {@code split_mode},
 * {@code main_gpu} and {@code tensor_split} fields of {@code llama_model_params}. Device numbers are ggml's GPU
 * devices in order, which for CUDA are the CUDA device ordinals (the same as {@code nvidia-smi}'s indices when
 * {@code CUDA_DEVICE_ORDER=PCI_BUS_ID}, which {@code ./factory} sets).
 *
 * @param gpuLayers layers kept on GPUs, counted from the last; 0 keeps everything on the CPU, {@link #ALL_LAYERS}
 *     every layer (and the output)
 * @param splitMode how the offloaded layers are spread when there are several GPUs
 * @param mainGpu the one GPU used with {@link SplitMode#NONE}
 * @param tensorSplit the share of the offloaded layers each GPU takes, by device number (at most
 *     {@link #MAX_DEVICES}); 0 leaves a GPU out; empty lets llama.cpp split by free memory over every GPU
 */
public record GpuOffload(int gpuLayers, SplitMode splitMode, int mainGpu, List<Float> tensorSplit) {
    /** {@code n_gpu_layers = -1}: llama.cpp's "all layers". */
    public static final int ALL_LAYERS = -1;
    /** {@code llama_max_devices()} of the pinned llama.cpp: the length of the {@code tensor_split} array. */
    public static final int MAX_DEVICES = 16;
    /** Everything on the CPU. */
    public static final GpuOffload CPU = new GpuOffload(0, SplitMode.NONE, 0, List.of());

    /** {@code enum llama_split_mode}, with the C values. */
    public enum SplitMode {
        /** One GPU ({@code main_gpu}) holds every offloaded layer. */
        NONE(0),
        /** Layers and their KV cache split across GPUs in order (pipeline). */
        LAYER(1),
        /** Rows of each weight split across GPUs (tensor parallelism, where the backend supports it). */
        ROW(2);

        private final int value;

        SplitMode(int value) {
            this.value = value;
        }

        public int value() {
            return value;
        }
    }

    public GpuOffload {
        requireNonNull(splitMode, "splitMode is null");
        tensorSplit = List.copyOf(tensorSplit);
        if (gpuLayers < ALL_LAYERS) {
            throw new IllegalArgumentException("gpuLayers must be -1 (all), 0 (none) or a layer count: " + gpuLayers);
        }
        if (mainGpu < 0 || mainGpu >= MAX_DEVICES) {
            throw new IllegalArgumentException("mainGpu must be between 0 and " + (MAX_DEVICES - 1) + ": " + mainGpu);
        }
        if (tensorSplit.size() > MAX_DEVICES) {
            throw new IllegalArgumentException("tensorSplit has " + tensorSplit.size() + " entries; llama.cpp takes at most "
                    + MAX_DEVICES);
        }
        if (tensorSplit.stream().anyMatch(f -> !(f >= 0) || f.isInfinite())) {
            throw new IllegalArgumentException("tensorSplit shares must be finite and not negative: " + tensorSplit);
        }
    }

    /**
     * {@code gpuLayers} layers on exactly {@code devices} (device numbers), shared as {@code shares} (one per
     * device, e.g. the layers each holds): one device runs alone ({@link SplitMode#NONE}), several split by layer
     * with every other GPU left out.
     */
    public static GpuOffload onDevices(int gpuLayers, List<Integer> devices, List<Integer> shares) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("no devices to offload to");
        }
        if (shares.size() != devices.size()) {
            throw new IllegalArgumentException("one share per device: " + devices + " vs " + shares);
        }
        if (devices.size() == 1) {
            return new GpuOffload(gpuLayers, SplitMode.NONE, devices.getFirst(), List.of());
        }
        int highest = devices.stream().mapToInt(Integer::intValue).max().orElseThrow();
        if (highest >= MAX_DEVICES) {
            throw new IllegalArgumentException("device " + highest + " is beyond llama.cpp's " + MAX_DEVICES + " devices");
        }
        List<Float> split = new ArrayList<>(java.util.Collections.nCopies(highest + 1, 0f));
        for (int i = 0; i < devices.size(); i++) {
            split.set(devices.get(i), (float) Math.max(1, shares.get(i)));
        }
        return new GpuOffload(gpuLayers, SplitMode.LAYER, devices.getFirst(), split);
    }

    public boolean offloads() {
        return gpuLayers != 0;
    }
}
