package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.fleet.HostMemory;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelVersion;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Says before loading whether a deployment fits in this node's free memory, from the model's metadata alone:
 * weights (the GGUF's size) + KV cache ({@code n_layer × n_ctx × n_head_kv × head_dim × 2 (K and V)} elements of
 * the deployment's cache type: 2 bytes for f16, 34/32 for q8_0, 18/32 for q4_0; {@code n_ctx} is the context per
 * sequence times the slots and the prefix cache's sequences) + a compute-buffer estimate, per
 * replica, with {@link CapacityEstimator}'s formulas (calibrated against llama.cpp) and a fixed margin.
 * {@code factory models plan} gives the fuller picture (layers, accelerators).
 *
 * <p>Free memory is the node's {@link HostMemory}: a deployment that fits only without a running fine-tuning job
 * takes the job's memory (the job checkpoints and waits in the queue), as serving comes first. What a deployment
 * holds is recorded there from the check until it ends.
 */
public final class MemoryPlanner {
    /** llama.cpp's default micro-batch: the compute buffer holds activations for this many tokens. */
    private static final int UBATCH = CapacityEstimator.DEFAULT_UBATCH;
    private static final long FIXED_OVERHEAD = 64L << 20;

    /** How long a deployment waits for a fine-tuning job to checkpoint and give its memory back. */
    private static final Duration YIELD_TIMEOUT = Duration.ofMinutes(2);

    private final HostMemory host;

    public MemoryPlanner(HostMemory host) {
        this.host = requireNonNull(host, "host is null");
    }

    /** A planner over {@code availableBytes} of free memory, with no limit and nothing that yields. */
    public MemoryPlanner(LongSupplier availableBytes) {
        this(new HostMemory(availableBytes, OptionalLong.empty()));
    }

    /** The estimate for one replica. */
    public record Estimate(long weights, long kvCache, long compute) {
        public long total() {
            return weights + kvCache + compute;
        }
    }

    public Estimate estimate(ModelVersion version, DeploymentSpec spec) {
        return of(version, spec);
    }

    /** The estimate for one replica of {@code version} deployed as {@code spec}, on any node. */
    public static Estimate of(ModelVersion version, DeploymentSpec spec) {
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

    /**
     * Holds the memory of deployment {@code id}'s replicas; throws INVALID_REQUEST, with the numbers, when they can't
     * fit in free memory, even with what a fine-tuning job would give back.
     */
    public Estimate check(String id, ModelVersion version, DeploymentSpec spec) {
        Estimate e = estimate(version, spec);
        long need = e.total() * spec.replicas();
        if (!host.reserve(owner(id), need, "a deployment of " + version.ref(), YIELD_TIMEOUT)) {
            long free = host.free();
            throw FactoryException.invalidParam("context", String.format(
                    "%s does not fit: %d replica(s) × (weights %s + KV cache %s for %d×%d tokens + compute %s) = %s, "
                            + "but only %s of memory is free; lower the context, parallel, prefix cache or replicas",
                    version.ref(), spec.replicas(), mib(e.weights()), mib(e.kvCache()), spec.sequences(),
                    spec.effectiveContext(version), mib(e.compute()), mib(need),
                    mib(free)) + limitNote());
        }
        return e;
    }

    /**
     * Holds {@code hostBytes} for deployment {@code id} (what the replicas keep in host memory once their GPU layers
     * are on GPUs); throws INVALID_REQUEST, with the numbers, when that is more than is free.
     */
    public void checkHost(String id, ModelVersion version, DeploymentSpec spec, long hostBytes) {
        if (!host.reserve(owner(id), hostBytes, "a deployment of " + version.ref(), YIELD_TIMEOUT)) {
            long free = host.free();
            throw FactoryException.invalidParam("context", String.format(
                    "%s does not fit: %d replica(s) keep %s in host memory beside their GPU layers, but only %s is "
                            + "free; lower the context, parallel, prefix cache or replicas", version.ref(),
                    spec.replicas(), mib(hostBytes), mib(free)) + limitNote());
        }
    }

    /** Free host memory now. */
    public long availableBytes() {
        return host.free();
    }

    /** Records that deployment {@code id} holds {@code bytes} of host memory, not yet loaded. */
    void hold(String id, long bytes) {
        host.hold(owner(id), bytes);
    }

    /** Deployment {@code id} has loaded what it holds. */
    void loaded(String id) {
        host.allocated(owner(id));
    }

    /** Deployment {@code id} holds no memory any more. */
    void release(String id) {
        host.release(owner(id));
    }

    private static String owner(String id) {
        return HostMemory.deployment(id);
    }

    private String limitNote() {
        return host.limit().isPresent() ? " (memory.limit is " + mib(host.limit().getAsLong()) + ")" : "";
    }

    private static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
