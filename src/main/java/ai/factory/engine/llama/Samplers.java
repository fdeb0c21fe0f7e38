package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;

import ai.factory.FactoryException;
import ai.factory.engine.Grammar;
import ai.factory.engine.SamplingParams;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Builds a llama.cpp sampler chain from {@link SamplingParams}, in llama-server's order. */
final class Samplers {
    private Samplers() {}

    /**
     * A new chain; the caller frees it with {@code llama_sampler_free} (which frees its members).
     *
     * <p>A grammar comes first: it sets every token the grammar forbids to -infinity, so whatever follows
     * (penalties, top-k, the final choice) picks among allowed tokens only, and the token llama.cpp then feeds
     * back to the grammar is always one it accepts. (llama-server samples first and checks the grammar after, a
     * speed-up this engine does without: a rejected token would throw through the C API.)
     *
     * @param vocab the model's vocabulary, for the grammar
     * @param grammar the constraint, or null
     * @param seed the seed for the random choice; ignored at temperature 0
     * @param contextLength what {@code repeatLastN == -1} ("the whole context") means
     * @throws FactoryException INVALID_REQUEST when the grammar does not parse
     */
    static MemorySegment chain(LlamaLibrary llama, MemorySegment vocab, int vocabularySize, SamplingParams params,
                               Grammar grammar, long seed, int contextLength) {
        MemorySegment grammarSampler = grammar == null ? MemorySegment.NULL : grammar(llama, vocab, grammar);
        MemorySegment chain;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chainParams = arena.allocate(LlamaLayouts.SAMPLER_CHAIN_PARAMS);
            LlamaLayouts.CHAIN_NO_PERF.set(chainParams, true);
            chain = llama.samplerChainInit(chainParams);
        }
        if (!grammarSampler.equals(MemorySegment.NULL)) {
            llama.samplerChainAdd(chain, grammarSampler);
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
     * Builds and frees a grammar sampler: whether llama.cpp accepts the grammar, answered on the caller's thread.
     * The vocabulary is only read, which llama.cpp allows from any thread.
     *
     * @throws FactoryException INVALID_REQUEST when it does not
     */
    static void check(LlamaLibrary llama, MemorySegment vocab, Grammar grammar) {
        // Not on the engine thread, whose own capture this would end.
        try (LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            MemorySegment sampler = create(llama, vocab, grammar);
            if (sampler.equals(MemorySegment.NULL)) {
                throw FactoryException.invalidParam("grammar", "the grammar does not parse: "
                        + errors.reason("llama.cpp gave no reason"));
            }
            llama.samplerFree(sampler);
        }
    }

    /** A grammar sampler (root rule {@code root}), which the caller frees or hands to a chain. */
    private static MemorySegment grammar(LlamaLibrary llama, MemorySegment vocab, Grammar grammar) {
        MemorySegment sampler = create(llama, vocab, grammar);
        if (sampler.equals(MemorySegment.NULL)) {
            throw FactoryException.invalidParam("grammar", "the grammar does not parse (see llama.cpp's log)");
        }
        return sampler;
    }

    /** A grammar sampler, or NULL where llama.cpp rejects the grammar. */
    private static MemorySegment create(LlamaLibrary llama, MemorySegment vocab, Grammar grammar) {
        grammar.triggers().forEach(TriggerPatterns::check);
        MemorySegment sampler;
        // Only for the call: llama.cpp copies the grammar, the root name and the patterns.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocateFrom(grammar.gbnf());
            MemorySegment root = arena.allocateFrom("root");
            if (grammar.lazy()) {
                List<String> triggers = grammar.triggers();
                MemorySegment patterns = arena.allocate(ADDRESS, triggers.size());
                for (int i = 0; i < triggers.size(); i++) {
                    patterns.setAtIndex(ADDRESS, i, arena.allocateFrom(triggers.get(i)));
                }
                sampler = llama.samplerInitGrammarLazyPatterns(vocab, text, root, patterns, triggers.size(),
                        MemorySegment.NULL, 0);
            } else {
                sampler = llama.samplerInitGrammar(vocab, text, root);
            }
        }
        return sampler;
    }

    /**
     * A 64-bit seed as llama.cpp's 32-bit one. 0xFFFFFFFF (LLAMA_DEFAULT_SEED) would mean "pick a random
     * seed", so the mapping never yields it.
     */
    static int nativeSeed(long seed) {
        return (int) Long.remainderUnsigned(seed, 0xFFFF_FFFFL);
    }
}
