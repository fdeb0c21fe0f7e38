package ai.factory.fleet.capacity;

import static java.util.Objects.requireNonNull;

import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.TensorInfo;
import org.jspecify.annotations.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Estimates what a GGUF model needs from its metadata and tensor list alone, and where it fits on a node.
 *
 * <ul>
 *   <li>Weights: each tensor's bytes; {@code blk.N.*} belong to layer N, {@code token_embd} stays in host memory
 *       (llama.cpp never offloads it), the rest ({@code output}, {@code output_norm}) go with the last layer.</li>
 *   <li>KV cache: {@code n_layer × n_ctx × parallel × n_head_kv × head_dim × 2 (K and V) × bytes per element}
 *       (f16 2, q8_0 34/32, q4_0 18/32).</li>
 *   <li>Compute buffer: {@code 4 × u × (n_vocab + 4 × n_embd)} bytes with {@code u = min(n_ubatch, n_ctx_total)}.
 *       llama.cpp reserves the graph of one micro-batch of {@code u} tokens; its peak is the logits
 *       ({@code u × n_vocab} f32) plus the few {@code u × n_embd} f32 activations alive beside them. With flash
 *       attention (llama.cpp turns it on by itself on CPU) no {@code n_ctx × n_head} score matrix is materialised.
 *       Calibrated against llama.cpp's own "compute buffer size" log line (CapacityEstimatorCalibrationTest):
 *       within 2% for the tiny and a synthesized 10M model.</li>
 * </ul>
 */
public final class CapacityEstimator {
    /** llama.cpp's default micro-batch. */
    public static final int DEFAULT_UBATCH = 512;
    /** Model weights and buffers are allocated in pieces; leave this much per device for what the estimate misses. */
    static final long DEVICE_RESERVE = 256L << 20;

    private CapacityEstimator() {}

    /** The request: context per sequence (0 = the model's trained context), parallel sequences, cache type. */
    public record Request(long contextPerSequence, int parallel, CacheType cacheType, int ubatch) {
        public Request {
            requireNonNull(cacheType, "cacheType is null");
            if (contextPerSequence < 0) {
                throw new IllegalArgumentException("context must not be negative: " + contextPerSequence);
            }
            if (parallel < 1) {
                throw new IllegalArgumentException("parallel must be at least 1: " + parallel);
            }
            if (ubatch < 1) {
                throw new IllegalArgumentException("ubatch must be at least 1: " + ubatch);
            }
        }

        public static Request of(long contextPerSequence, int parallel, CacheType cacheType) {
            return new Request(contextPerSequence, parallel, cacheType, DEFAULT_UBATCH);
        }
    }

    public static Footprint footprint(GgufMetadata model, Request request) {
        requireNonNull(model, "model is null");
        requireNonNull(request, "request is null");
        Map<Integer, Long> byLayer = new TreeMap<>();
        long host = 0;
        long output = 0;
        for (TensorInfo t : model.tensors()) {
            int layer = layerOf(t.name());
            if (layer >= 0) {
                byLayer.merge(layer, t.sizeBytes(), Long::sum);
            } else if (t.name().startsWith("token_embd")) {
                host += t.sizeBytes();
            } else {
                output += t.sizeBytes();
            }
        }
        int layers = Math.max(model.blockCount(), byLayer.isEmpty() ? 0 : ((TreeMap<Integer, Long>) byLayer).lastKey() + 1);
        List<Long> layerWeights = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) {
            layerWeights.add(byLayer.getOrDefault(i, 0L));
        }
        long heads = Math.max(1, model.headCount());
        long kvHeads = model.headCountKv() > 0 ? model.headCountKv() : heads;
        long headDim = model.embeddingLength() / heads;
        long perSequence = request.contextPerSequence() > 0 ? request.contextPerSequence() : model.contextLength();
        long tokens = Math.multiplyExact(perSequence, request.parallel());
        long kvPerLayer = kvCacheBytes(1, tokens, kvHeads, headDim, request.cacheType());
        long compute = computeBytes(model.vocabularySize(), model.embeddingLength(), tokens, request.ubatch());
        return new Footprint(layerWeights, host, output, kvPerLayer, compute, tokens, request.cacheType());
    }

    /**
     * Elements of one attention head's key: {@code {arch}.attention.key_length} where the file has it, else
     * {@code n_embd / n_head}.
     */
    public static long keyLength(GgufMetadata model) {
        return headLength(model, "key_length", model.embeddingLength() / Math.max(1, model.headCount()));
    }

    /** Elements of one attention head's value: {@code {arch}.attention.value_length}, else the key's length. */
    public static long valueLength(GgufMetadata model) {
        return headLength(model, "value_length", keyLength(model));
    }

    private static long headLength(GgufMetadata model, String key, long otherwise) {
        Object value = model.scalarMetadata().get(model.architecture() + ".attention." + key);
        return value instanceof Number n && n.longValue() > 0 ? n.longValue() : otherwise;
    }

    /** K and V of {@code layers} layers for {@code tokens} tokens (context × parallel). */
    public static long kvCacheBytes(long layers, long tokens, long kvHeads, long headDim, CacheType cacheType) {
        return Math.multiplyExact(layers, cacheType.bytes(Math.multiplyExact(tokens, kvHeads * headDim * 2)));
    }

    /** The compute buffer for a context of {@code tokens} tokens in micro-batches of {@code ubatch} (see above). */
    public static long computeBytes(long vocabulary, long embedding, long tokens, int ubatch) {
        long u = Math.min(ubatch, Math.max(1, tokens));
        return 4 * u * (vocabulary + 4 * embedding);
    }

    /** {@code blk.12.attn_q.weight} → 12; -1 for a tensor outside the layers. */
    static int layerOf(String name) {
        if (!name.startsWith("blk.")) {
            return -1;
        }
        int dot = name.indexOf('.', 4);
        try {
            return Integer.parseInt(dot < 0 ? name.substring(4) : name.substring(4, dot));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Where {@code f} fits given {@code hostFree} bytes of host memory and identical accelerators (each with
     * {@code spec.memoryBytes()} free): on as few accelerators as hold every layer, else the most layers the
     * accelerators hold with the rest on the host, else all on the host, else nowhere.
     */
    public static CapacityPlan plan(Footprint f, long hostFree, List<AcceleratorSpec> accelerators) {
        requireNonNull(f, "footprint is null");
        List<AcceleratorSpec> devices = List.copyOf(accelerators);
        if (!devices.isEmpty()) {
            AcceleratorSpec group = devices.getFirst();
            int count = devices.stream().filter(d -> d.kind().equals(group.kind())).mapToInt(AcceleratorSpec::count).sum();
            long deviceFree = devices.stream().filter(d -> d.kind().equals(group.kind()))
                    .mapToLong(AcceleratorSpec::memoryBytes).min().orElseThrow();
            long hostForFull = f.hostWeights();
            if (hostForFull <= hostFree) {
                for (int n = 1; n <= count; n++) {
                    List<Integer> split = split(f, n, deviceFree, f.layers());
                    if (split != null) {
                        return new CapacityPlan.FullOffload(f, group.kind(), deviceBytes(f, split, f.layers()), split,
                                deviceFree, hostForFull);
                    }
                }
            }
            for (int k = f.layers() - 1; k >= 1; k--) {
                List<Integer> split = split(f, count, deviceFree, k);
                if (split == null) {
                    continue;
                }
                long hostBytes = f.hostWeights() + f.outputWeights() + f.compute();
                for (int i = 0; i < f.layers() - k; i++) {
                    hostBytes += f.layerWeights().get(i) + f.kvCachePerLayer();
                }
                if (hostBytes <= hostFree) {
                    return new CapacityPlan.PartialOffload(f, group.kind(), k, deviceBytes(f, split, k), deviceFree,
                            hostBytes, hostFree);
                }
                break;
            }
        }
        if (f.total() <= hostFree) {
            return new CapacityPlan.HostMemory(f, f.total(), hostFree);
        }
        return new CapacityPlan.DoesNotFit(f, f.total(), hostFree, String.format(
                "does not fit: weights %s + KV cache %s for %d tokens (%s) + compute %s = %s, but only %s is free%s; "
                        + "lower the context or parallel, use a smaller cache type, or add accelerators",
                mib(f.weights()), mib(f.kvCache()), f.contextTokens(), f.cacheType().id(), mib(f.compute()),
                mib(f.total()), mib(hostFree), devices.isEmpty() ? "" : " in host memory and the accelerators hold too few layers"));
    }

    /**
     * The bytes each device holds when the last {@code offloaded} layers are split over at most {@code devices}
     * devices of {@code deviceFree} bytes each, as few as hold them, with the layers each takes; empty when they
     * don't fit.
     */
    public static java.util.Optional<LayerSplit> layerSplit(Footprint f, int devices, long deviceFree, int offloaded) {
        requireNonNull(f, "footprint is null");
        if (devices < 1 || offloaded < 1 || offloaded > f.layers()) {
            return java.util.Optional.empty();
        }
        for (int n = 1; n <= devices; n++) {
            List<Integer> split = split(f, n, deviceFree, offloaded);
            if (split != null) {
                return java.util.Optional.of(new LayerSplit(split, deviceBytes(f, split, offloaded)));
            }
        }
        return java.util.Optional.empty();
    }

    /** Layers and bytes per device, in device order. */
    public record LayerSplit(List<Integer> layersPerDevice, List<Long> deviceBytes) {
        public LayerSplit {
            layersPerDevice = List.copyOf(layersPerDevice);
            deviceBytes = List.copyOf(deviceBytes);
        }

        public long largestDevice() {
            return deviceBytes.stream().mapToLong(Long::longValue).max().orElse(0);
        }
    }

    /**
     * Splits the last {@code offloaded} layers over {@code n} devices in order, each device holding its layers'
     * weights and KV cache plus a compute buffer and the reserve; the last device also holds the output weights
     * when every layer is offloaded. Null when they don't fit.
     */
    private static @Nullable List<Integer> split(Footprint f, int n, long deviceFree, int offloaded) {
        long budget = deviceFree - f.compute() - DEVICE_RESERVE;
        List<Integer> counts = new ArrayList<>();
        int first = f.layers() - offloaded;
        long used = 0;
        int inDevice = 0;
        for (int i = first; i < f.layers(); i++) {
            long layer = f.layerWeights().get(i) + f.kvCachePerLayer();
            long extra = (i == f.layers() - 1 && offloaded == f.layers()) ? f.outputWeights() : 0;
            if (used + layer + extra > budget) {
                if (inDevice == 0 || counts.size() + 1 >= n) {
                    return null;
                }
                counts.add(inDevice);
                used = 0;
                inDevice = 0;
                if (layer + extra > budget) {
                    return null;
                }
            }
            used += layer + extra;
            inDevice++;
        }
        counts.add(inDevice);
        return counts;
    }

    private static List<Long> deviceBytes(Footprint f, List<Integer> split, int offloaded) {
        List<Long> bytes = new ArrayList<>();
        int layer = f.layers() - offloaded;
        for (int count : split) {
            long b = f.compute();
            for (int i = 0; i < count; i++, layer++) {
                b += f.layerWeights().get(layer) + f.kvCachePerLayer();
            }
            if (layer == f.layers() && offloaded == f.layers()) {
                b += f.outputWeights();
            }
            bytes.add(b);
        }
        return bytes;
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
