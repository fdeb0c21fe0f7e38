package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;

/**
 * Chooses a token under a grammar the way llama-server does: the sequence's own chain picks from the model's
 * unconstrained candidates, the grammar then checks just that one token, and only when the grammar rejects it is
 * the whole vocabulary masked by the grammar and the chain run again. Most steps so cost one grammar check instead
 * of one per vocabulary entry (32,000 to 150,000). The grammar sampler and the chain are separate and both are told
 * the chosen token, which is always one the grammar accepts (a rejected token fed to llama.cpp's grammar throws
 * through its C API and ends the process); a grammar that allows no token at all ends the generation with an error
 * instead.
 *
 * <p>At a temperature above 0 this samples the model's distribution and redraws from the constrained one on a miss,
 * as llama-server does, rather than drawing from the constrained distribution outright; greedy choices are the same
 * either way (the best allowed token is the best token whenever that one is allowed).
 *
 * <p>Used by the engine thread only; its candidate buffers live in the engine's arena.
 */
final class ConstrainedSampler {
    private static final long TOKEN_SIZE = LlamaLayouts.TOKEN_DATA.byteSize();
    private static final long ID = LlamaLayouts.TOKEN_DATA.byteOffset(PathElement.groupElement("id"));
    private static final long LOGIT = LlamaLayouts.TOKEN_DATA.byteOffset(PathElement.groupElement("logit"));
    private static final long P = LlamaLayouts.TOKEN_DATA.byteOffset(PathElement.groupElement("p"));
    private static final long DATA = LlamaLayouts.TOKEN_DATA_ARRAY.byteOffset(PathElement.groupElement("data"));
    private static final long SIZE = LlamaLayouts.TOKEN_DATA_ARRAY.byteOffset(PathElement.groupElement("size"));
    private static final long SELECTED = LlamaLayouts.TOKEN_DATA_ARRAY.byteOffset(PathElement.groupElement("selected"));
    private static final long SORTED = LlamaLayouts.TOKEN_DATA_ARRAY.byteOffset(PathElement.groupElement("sorted"));

    private final LlamaLibrary llama;
    private final int vocabularySize;
    private final MemorySegment candidates;
    private final MemorySegment all;
    private final MemorySegment one;
    private final MemorySegment single;

    ConstrainedSampler(LlamaLibrary llama, Arena arena, int vocabularySize) {
        this.llama = requireNonNull(llama, "llama is null");
        this.vocabularySize = vocabularySize;
        this.candidates = arena.allocate(TOKEN_SIZE * vocabularySize, LlamaLayouts.TOKEN_DATA.byteAlignment());
        this.all = arena.allocate(LlamaLayouts.TOKEN_DATA_ARRAY);
        this.one = arena.allocate(LlamaLayouts.TOKEN_DATA);
        this.single = arena.allocate(LlamaLayouts.TOKEN_DATA_ARRAY);
    }

    /**
     * The next token of a sequence sampled by {@code chain} under {@code grammar}, both told of it.
     *
     * @param logits the sequence's logits row, {@code vocabularySize} floats
     * @throws FactoryException INTERNAL when the grammar allows none of the model's tokens
     */
    int sample(MemorySegment chain, MemorySegment grammar, MemorySegment logits) {
        fill(logits);
        llama.samplerApply(chain, all);
        int token = selected();
        one.set(JAVA_INT, ID, token);
        one.set(JAVA_FLOAT, LOGIT, 1f);
        one.set(JAVA_FLOAT, P, 0f);
        array(single, one, 1);
        llama.samplerApply(grammar, single);
        if (one.get(JAVA_FLOAT, LOGIT) == Float.NEGATIVE_INFINITY) {
            fill(logits);
            llama.samplerApply(grammar, all);
            llama.samplerApply(chain, all);
            token = selected();
            if (selectedLogit() == Float.NEGATIVE_INFINITY) {
                throw new FactoryException(ErrorCode.INTERNAL, "the grammar allows none of the model's tokens here");
            }
        }
        llama.samplerAccept(grammar, token);
        llama.samplerAccept(chain, token);
        return token;
    }

    /** Every token of the vocabulary as a candidate with its logit, in id order. */
    private void fill(MemorySegment logits) {
        for (int id = 0; id < vocabularySize; id++) {
            long at = id * TOKEN_SIZE;
            candidates.set(JAVA_INT, at + ID, id);
            candidates.set(JAVA_FLOAT, at + LOGIT, logits.getAtIndex(JAVA_FLOAT, id));
            candidates.set(JAVA_FLOAT, at + P, 0f);
        }
        array(all, candidates, vocabularySize);
    }

    private static void array(MemorySegment array, MemorySegment data, long size) {
        array.set(ADDRESS, DATA, data);
        array.set(JAVA_LONG, SIZE, size);
        array.set(JAVA_LONG, SELECTED, -1L);
        array.set(JAVA_BOOLEAN, SORTED, false);
    }

    /** The candidate the chain selected, where the array's data now are (samplers may shrink or move them). */
    @SuppressWarnings("restricted")
    private MemorySegment selectedCandidate() {
        long selected = all.get(JAVA_LONG, SELECTED);
        long size = all.get(JAVA_LONG, SIZE);
        if (selected < 0 || selected >= size) {
            throw new IllegalStateException("the sampler chain selected no candidate (" + selected + " of " + size + ")");
        }
        return all.get(ADDRESS, DATA).reinterpret(size * TOKEN_SIZE).asSlice(selected * TOKEN_SIZE, TOKEN_SIZE);
    }

    private int selected() {
        return selectedCandidate().get(JAVA_INT, ID);
    }

    private float selectedLogit() {
        return selectedCandidate().get(JAVA_FLOAT, LOGIT);
    }
}
