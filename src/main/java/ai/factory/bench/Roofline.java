package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.TensorInfo;

/**
 * The memory-bandwidth roofline of decoding one sequence: every generated token reads all the weights once and
 * the KV cache up to its position, so {@code tokens/s ≤ bandwidth ÷ (weight bytes + KV bytes per position ×
 * position)}. Compute, caches and the serving path can only take the rate below that line.
 *
 * <p>Weight bytes per token are every tensor's bytes, except that the token embedding contributes a single row
 * (a lookup) when the model has its own {@code output.weight}; a model without one (tied embeddings) uses the
 * embedding matrix as its output projection and reads all of it. KV bytes per position are {@code n_layer × n_head_kv
 * × (key length + value length) × bytes per element}, with the key and value lengths from
 * {@code {arch}.attention.key_length} and {@code value_length} where the file has them, else
 * {@code n_embd ÷ n_head}.
 *
 * @param weightBytesPerToken weight bytes read for one token
 * @param kvBytesPerPosition KV cache bytes read per cached position, for one token
 */
public record Roofline(long weightBytesPerToken, long kvBytesPerPosition) {
    public Roofline {
        if (weightBytesPerToken < 1 || kvBytesPerPosition < 0) {
            throw new IllegalArgumentException("weight bytes must be positive and KV bytes not negative: %d, %d"
                    .formatted(weightBytesPerToken, kvBytesPerPosition));
        }
    }

    /** The roofline of a GGUF model with a KV cache of {@code cacheType} (llama.cpp's default is f16). */
    public static Roofline of(GgufMetadata model, CacheType cacheType) {
        requireNonNull(model, "model is null");
        requireNonNull(cacheType, "cacheType is null");
        long weights = 0;
        TensorInfo embedding = null;
        boolean ownOutput = false;
        for (TensorInfo tensor : model.tensors()) {
            if (tensor.name().equals("token_embd.weight")) {
                embedding = tensor;
            } else {
                weights += tensor.sizeBytes();
                ownOutput |= tensor.name().equals("output.weight");
            }
        }
        if (embedding != null) {
            long rows = embedding.dimensions().size() < 2 ? 1 : embedding.dimensions().getLast();
            weights += ownOutput ? Math.ceilDiv(embedding.sizeBytes(), Math.max(rows, 1)) : embedding.sizeBytes();
        }
        long heads = Math.max(1, model.headCount());
        long kvHeads = model.headCountKv() > 0 ? model.headCountKv() : heads;
        long keyLength = CapacityEstimator.keyLength(model);
        long valueLength = CapacityEstimator.valueLength(model);
        long kv = Math.multiplyExact((long) model.blockCount(), cacheType.bytes(kvHeads * (keyLength + valueLength)));
        return new Roofline(weights, kv);
    }

    /** Bytes read to decode the token at context position {@code position} (the tokens already cached). */
    public long bytesPerToken(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("position must not be negative: " + position);
        }
        return Math.addExact(weightBytesPerToken, Math.multiplyExact(kvBytesPerPosition, position));
    }

    /** The most tokens per second one sequence can decode at {@code position} with {@code bytesPerSecond} of bandwidth. */
    public double limitTokensPerSecond(double bytesPerSecond, long position) {
        if (!(bytesPerSecond > 0)) {
            throw new IllegalArgumentException("bandwidth must be positive: " + bytesPerSecond);
        }
        return bytesPerSecond / bytesPerToken(position);
    }
}
