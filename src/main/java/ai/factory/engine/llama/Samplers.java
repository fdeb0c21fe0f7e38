package ai.factory.engine.llama;

import ai.factory.engine.SamplingParams;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Builds a llama.cpp sampler chain from {@link SamplingParams}, in llama-server's order. */
final class Samplers {
    private Samplers() {}

    /**
     * A new chain; the caller frees it with {@code llama_sampler_free} (which frees its members).
     *
     * @param seed the seed for the random choice; ignored at temperature 0
     * @param contextLength what {@code repeatLastN == -1} ("the whole context") means
     */
    static MemorySegment chain(LlamaLibrary llama, int vocabularySize, SamplingParams params, long seed, int contextLength) {
        MemorySegment chain;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chainParams = arena.allocate(LlamaLayouts.SAMPLER_CHAIN_PARAMS);
            LlamaLayouts.CHAIN_NO_PERF.set(chainParams, true);
            chain = llama.samplerChainInit(chainParams);
        }
        if (params.repeatPenalty() != 1f || params.presencePenalty() != 0f || params.frequencyPenalty() != 0f) {
            int lastN = params.repeatLastN() == -1 ? contextLength : params.repeatLastN();
            llama.samplerChainAdd(chain, llama.samplerInitPenalties(vocabularySize, lastN,
                    params.repeatPenalty(), params.frequencyPenalty(), params.presencePenalty()));
        }
        if (params.greedy()) {
            llama.samplerChainAdd(chain, llama.samplerInitGreedy());
            return chain;
        }
        if (params.topK() > 0) {
            llama.samplerChainAdd(chain, llama.samplerInitTopK(params.topK()));
        }
        if (params.topP() < 1f) {
            llama.samplerChainAdd(chain, llama.samplerInitTopP(params.topP(), 1));
        }
        if (params.minP() > 0f) {
            llama.samplerChainAdd(chain, llama.samplerInitMinP(params.minP(), 1));
        }
        llama.samplerChainAdd(chain, llama.samplerInitTemp(params.temperature()));
        llama.samplerChainAdd(chain, llama.samplerInitDist(nativeSeed(seed)));
        return chain;
    }

    /**
     * A 64-bit seed as llama.cpp's 32-bit one. 0xFFFFFFFF (LLAMA_DEFAULT_SEED) would mean "pick a random
     * seed", so the mapping never yields it.
     */
    static int nativeSeed(long seed) {
        return (int) Long.remainderUnsigned(seed, 0xFFFF_FFFFL);
    }
}
