package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.ProcFiles;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Says before loading whether a deployment fits in this node's free memory, from the model's metadata alone:
 * weights (the GGUF's size) + KV cache ({@code n_layer × n_ctx × n_head_kv × head_dim × 2 (K and V)} elements of
 * the deployment's cache type: 2 bytes for f16, 34/32 for q8_0, 18/32 for q4_0; {@code n_ctx} is the context per
 * sequence times the slots and the prefix cache's sequences) + a compute-buffer estimate, per
 * replica, with {@link CapacityEstimator}'s formulas (calibrated against llama.cpp) and a fixed margin.
 * {@code factory models plan} gives the fuller picture (layers, accelerators).
 */
public final class MemoryPlanner {
    /** llama.cpp's default micro-batch: the compute buffer holds activations for this many tokens. */
    private static final int UBATCH = CapacityEstimator.DEFAULT_UBATCH;
    private static final long FIXED_OVERHEAD = 64L << 20;

    private final LongSupplier availableBytes;

    public MemoryPlanner(LongSupplier availableBytes) {
        this.availableBytes = requireNonNull(availableBytes, "availableBytes is null");
    }

    /** Reads {@code MemAvailable} from {@code /proc/meminfo}, else the JVM's view of free physical memory. */
    public static MemoryPlanner forThisMachine() {
        return new MemoryPlanner(MemoryPlanner::memAvailable);
    }

    /** The estimate for one replica. */
    public record Estimate(long weights, long kvCache, long compute) {
        public long total() {
            return weights + kvCache + compute;
        }
    }

    public Estimate estimate(ModelVersion version, DeploymentSpec spec) {
        if (version.format() != ModelFormat.GGUF) {
            return new Estimate(version.sizeBytes(), 0, FIXED_OVERHEAD);
        }
        Map<String, Object> m = version.metadata();
        long layers = number(m, "blockCount");
        long embd = number(m, "embeddingLength");
        long heads = Math.max(1, number(m, "headCount"));
        long kvHeads = number(m, "headCountKv") > 0 ? number(m, "headCountKv") : heads;
        long vocab = number(m, "vocabularySize");
        long ctx = (long) spec.effectiveContext(version) * spec.sequences();
        long headDim = embd / heads;
        long kv = CapacityEstimator.kvCacheBytes(layers, ctx, kvHeads, headDim, spec.plannedCacheType());
        long compute = CapacityEstimator.computeBytes(vocab, embd, ctx, UBATCH) + FIXED_OVERHEAD;
        return new Estimate(version.sizeBytes(), kv, compute);
    }

    /** Throws INVALID_REQUEST, with the numbers, when the deployment can't fit in free memory. */
    public Estimate check(ModelVersion version, DeploymentSpec spec) {
        Estimate e = estimate(version, spec);
        long need = e.total() * spec.replicas();
        long free = availableBytes.getAsLong();
        if (need > free) {
            throw FactoryException.invalidParam("context", String.format(
                    "%s does not fit: %d replica(s) × (weights %s + KV cache %s for %d×%d tokens + compute %s) = %s, "
                            + "but only %s of memory is free; lower the context, parallel, prefix cache or replicas",
                    version.ref(), spec.replicas(), mib(e.weights()), mib(e.kvCache()), spec.sequences(),
                    spec.effectiveContext(version), mib(e.compute()), mib(need),
                    mib(free)));
        }
        return e;
    }

    /**
     * Throws INVALID_REQUEST, with the numbers, when {@code hostBytes} (what the replicas keep in host memory once
     * their GPU layers are on GPUs) is more than is free.
     */
    public void checkHost(ModelVersion version, DeploymentSpec spec, long hostBytes) {
        long free = availableBytes.getAsLong();
        if (hostBytes > free) {
            throw FactoryException.invalidParam("context", String.format(
                    "%s does not fit: %d replica(s) keep %s in host memory beside their GPU layers, but only %s is "
                            + "free; lower the context, parallel, prefix cache or replicas", version.ref(),
                    spec.replicas(), mib(hostBytes), mib(free)));
        }
    }

    /** Free host memory now. */
    public long availableBytes() {
        return availableBytes.getAsLong();
    }

    private static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    /** This machine's free memory: {@code MemAvailable}, else the JVM's view. */
    public static long availableOnThisMachine() {
        return memAvailable();
    }

    private static long memAvailable() {
        try {
            return ProcFiles.parseMemInfo(Files.readString(Path.of("/proc/meminfo"))).availableBytes();
        } catch (IOException | FactoryException e) {
            // not Linux, or an unexpected format: use the JVM's view below
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os.getFreeMemorySize();
    }
}
