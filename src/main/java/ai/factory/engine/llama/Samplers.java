package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import ai.factory.FactoryException;
import ai.factory.engine.Grammar;
import ai.factory.engine.SamplingParams;
import org.jspecify.annotations.Nullable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.function.ToIntFunction;

/** Builds a llama.cpp sampler chain from {@link SamplingParams}, in llama-server's order. */
final class Samplers {
    private Samplers() {}

    /**
     * A grammar as this model applies it: its text and, for a lazy grammar, the tokens that trigger it.
     *
     * @param triggerTokens the single tokens of the grammar's trigger words; empty for a grammar that applies from
     *     the first token
     */
    record Constraint(String gbnf, int[] triggerTokens) {
        boolean lazy() {
            return triggerTokens.length > 0;
        }
    }

    /**
     * The grammar as this model can apply it, or null when it cannot: a lazy grammar whose trigger words are none
     * of them exactly one token's text has nothing to trigger on (see {@link Grammar}), so it constrains nothing.
     * The text must be exact: llama.cpp feeds the grammar the trigger token's text, and text the grammar's start
     * does not accept would end the process.
     *
     * @param tokenWithPiece the token whose text is exactly the given word, or -1
     */
    static @Nullable Constraint resolve(Grammar grammar, ToIntFunction<String> tokenWithPiece) {
        if (!grammar.lazy()) {
            return new Constraint(grammar.gbnf(), new int[0]);
        }
        int[] triggers = grammar.triggers().stream().mapToInt(tokenWithPiece).filter(t -> t >= 0).distinct().toArray();
        return triggers.length == 0 ? null : new Constraint(grammar.gbnf(), triggers);
    }

    /**
     * A new chain; the caller frees it with {@code llama_sampler_free} (which frees its members). A grammar is not
     * part of it: {@link ConstrainedSampler} runs the two together.
     *
     * @param seed the seed for the random choice; ignored at temperature 0
     * @param contextLength what {@code repeatLastN == -1} ("the whole context") means
     */
    static MemorySegment chain(LlamaLibrary llama, int vocabularySize, SamplingParams params, long seed,
                               int contextLength) {
        return chain(llama, vocabularySize, params, Map.of(), seed, contextLength);
    }

    /**
     * A chain as {@link #chain(LlamaLibrary, int, SamplingParams, long, int)} makes it, with {@code logitBias} applied
     * first (token ids already checked against the vocabulary).
     */
    static MemorySegment chain(LlamaLibrary llama, int vocabularySize, SamplingParams params,
                               Map<Integer, Float> logitBias, long seed, int contextLength) {
        MemorySegment chain;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chainParams = arena.allocate(LlamaLayouts.SAMPLER_CHAIN_PARAMS);
            LlamaLayouts.CHAIN_NO_PERF.set(chainParams, true);
            chain = llama.samplerChainInit(chainParams);
            if (!logitBias.isEmpty()) {
                MemorySegment biases = arena.allocate(LlamaLayouts.LOGIT_BIAS, logitBias.size());
                int i = 0;
                for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
                    MemorySegment entry = biases.asSlice(i++ * LlamaLayouts.LOGIT_BIAS.byteSize(), LlamaLayouts.LOGIT_BIAS);
                    entry.set(JAVA_INT, 0, e.getKey());
                    entry.set(JAVA_FLOAT, Integer.BYTES, e.getValue());
                }
                llama.samplerChainAdd(chain, llama.samplerInitLogitBias(vocabularySize, logitBias.size(), biases));
            }
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
     * A grammar sampler (root rule {@code root}), built on the caller's thread so that a grammar llama.cpp rejects is
     * the caller's answer at once; the caller frees it or hands it on. The vocabulary is only read, which llama.cpp
     * allows from any thread.
     *
     * @throws FactoryException INVALID_REQUEST when llama.cpp rejects the grammar
     */
    static MemorySegment grammar(LlamaLibrary llama, MemorySegment vocab, Constraint grammar) {
        // Not on the engine thread, whose own capture this would end.
        try (LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            MemorySegment sampler = create(llama, vocab, grammar);
            if (sampler.equals(MemorySegment.NULL)) {
                throw FactoryException.invalidParam("grammar", "the grammar does not parse: "
                        + errors.reason("llama.cpp gave no reason"));
            }
            return sampler;
        }
    }

    /** A grammar sampler, or NULL where llama.cpp rejects the grammar. */
    private static MemorySegment create(LlamaLibrary llama, MemorySegment vocab, Constraint grammar) {
        // Only for the call: llama.cpp copies the grammar, the root name and the trigger tokens.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocateFrom(grammar.gbnf());
            MemorySegment root = arena.allocateFrom("root");
            if (!grammar.lazy()) {
                return llama.samplerInitGrammar(vocab, text, root);
            }
            MemorySegment tokens = arena.allocateFrom(JAVA_INT, grammar.triggerTokens());
            return llama.samplerInitGrammarLazyPatterns(vocab, text, root, MemorySegment.NULL, 0, tokens,
                    grammar.triggerTokens().length);
        }
    }

    /**
     * A 64-bit seed as llama.cpp's 32-bit one. 0xFFFFFFFF (LLAMA_DEFAULT_SEED) would mean "pick a random
     * seed", so the mapping never yields it.
     */
    static int nativeSeed(long seed) {
        return (int) Long.remainderUnsigned(seed, 0xFFFF_FFFFL);
    }
}
