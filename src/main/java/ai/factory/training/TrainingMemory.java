package ai.factory.training;

import ai.factory.FactoryException;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.models.ModelVersion;
import java.util.Map;

/**
 * What a fine-tuning job holds in memory, estimated before it starts so that a job that cannot fit is refused with
 * the numbers instead of failing (or swapping the machine to a crawl) halfway.
 *
 * <p>Counted: the decrypted base file; the weights as F32 three times (the converted file, the model llama.cpp loads
 * into its own buffers, the result file); for the trained tensors their gradients and AdamW's two moments (three more
 * F32 copies); the F32 KV cache of one training window; and the compute buffers of a micro-batch (logits over the
 * vocabulary and their gradients dominate for small models). The trained share is the trained blocks' share of all
 * blocks, plus the output head.
 *
 * @param baseFile the decrypted base weights
 * @param weights the F32 weights, three times over
 * @param optimizer gradients and AdamW moments of the trained tensors
 * @param kvCache the F32 KV cache of one window
 * @param compute activations and their gradients
 */
public record TrainingMemory(long baseFile, long weights, long optimizer, long kvCache, long compute) {
    public long total() {
        return baseFile + weights + optimizer + kvCache + compute;
    }

    public static TrainingMemory estimate(ModelVersion base, Hyperparameters hp) {
        Map<String, Object> m = base.metadata();
        long parameters = number(m, "parameterCount");
        long layers = Math.max(1, number(m, "blockCount"));
        long embd = number(m, "embeddingLength");
        long heads = Math.max(1, number(m, "headCount"));
        long kvHeads = number(m, "headCountKv") > 0 ? number(m, "headCountKv") : heads;
        long vocab = number(m, "vocabularySize");
        long f32 = 4 * parameters;
        double trained = hp.trainLayers() == 0 ? 1.0 : Math.min(1.0, (double) hp.trainLayers() / layers);
        long head = 4 * vocab * embd;
        long optimizer = (long) (3 * (trained * f32 + (hp.trainLayers() == 0 ? 0 : head)));
        long kv = 2 * CapacityEstimator.kvCacheBytes(layers, hp.window(), kvHeads, embd / heads, CacheType.F16);
        // Forward and backward keep about three buffers of the micro-batch's size.
        long compute = 3 * CapacityEstimator.computeBytes(vocab, embd, hp.window(), hp.contextTokens());
        return new TrainingMemory(base.sizeBytes(), 3 * f32, optimizer, kv, compute);
    }

    /** Refuses when the estimate is more than {@code available} bytes (the machine's memory, for a job to be queued). */
    public void requireWithin(long available, String what) {
        if (total() > available) {
            throw FactoryException.invalidParam("hyperParameters", ("%s needs about %s of memory (base file %s, F32 "
                    + "weights %s, gradients and optimizer state %s, KV cache %s, activations %s) and at most %s can "
                    + "be held here (the machine's memory, or memory.limit); "
                    + "train fewer layers (trainLayers), a shorter contextLength or a smaller batchSize")
                    .formatted(what, mib(total()), mib(baseFile), mib(weights), mib(optimizer), mib(kvCache),
                            mib(compute), mib(available)));
        }
    }

    private static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static String mib(long bytes) {
        return String.format("%.0f MiB", bytes / 1048576.0);
    }
}
