package ai.factory.fleet.capacity;

import java.util.List;

/**
 * What one replica of a GGUF model needs, in bytes, as {@link CapacityEstimator} estimates it.
 *
 * @param layerWeights the weights of each layer (tensors {@code blk.N.*}), by N
 * @param hostWeights weights llama.cpp keeps in host memory whatever it offloads ({@code token_embd})
 * @param outputWeights the other non-layer weights ({@code output}, {@code output_norm}, …), offloaded with the last layer
 * @param kvCachePerLayer K and V cells of one layer for every token of every sequence
 * @param compute the compute buffer (activations of one micro-batch; see {@link CapacityEstimator})
 * @param contextTokens context per sequence × parallel sequences
 */
public record Footprint(List<Long> layerWeights, long hostWeights, long outputWeights, long kvCachePerLayer,
                        long compute, long contextTokens, CacheType cacheType) {
    public Footprint {
        layerWeights = List.copyOf(layerWeights);
        if (hostWeights < 0 || outputWeights < 0 || kvCachePerLayer < 0 || compute < 0 || contextTokens < 0) {
            throw new IllegalArgumentException("sizes must not be negative");
        }
    }

    public int layers() {
        return layerWeights.size();
    }

    public long layerWeightsTotal() {
        return layerWeights.stream().mapToLong(Long::longValue).sum();
    }

    public long weights() {
        return layerWeightsTotal() + hostWeights + outputWeights;
    }

    public long kvCache() {
        return kvCachePerLayer * layers();
    }

    /** Everything, when one device (or host memory) holds it all. */
    public long total() {
        return weights() + kvCache() + compute;
    }
}
