package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One {@code llama_batch} whose arrays live in the engine's arena and are refilled every step, so decoding
 * allocates no native memory per token. Each entry belongs to exactly one sequence: {@code n_seq_id[i]} is
 * always 1 and {@code seq_id[i]} points at a fixed cell holding that entry's sequence id.
 * Used by the engine thread only.
 */
final class LlamaBatch {
    private final int capacity;
    private final MemorySegment struct;
    private final MemorySegment tokens;
    private final MemorySegment positions;
    private final MemorySegment sequenceIds;
    private final MemorySegment logits;
    private int size;

    LlamaBatch(Arena arena, int capacity) {
        this.capacity = capacity;
        this.struct = arena.allocate(LlamaLayouts.BATCH);
        this.tokens = arena.allocate(JAVA_INT, capacity);
        this.positions = arena.allocate(JAVA_INT, capacity);
        this.sequenceIds = arena.allocate(JAVA_INT, capacity);
        this.logits = arena.allocate(JAVA_BYTE, capacity);
        MemorySegment counts = arena.allocate(JAVA_INT, capacity);
        MemorySegment idPointers = arena.allocate(ADDRESS, capacity);
        for (int i = 0; i < capacity; i++) {
            counts.setAtIndex(JAVA_INT, i, 1);
            idPointers.setAtIndex(ADDRESS, i, sequenceIds.asSlice((long) i * Integer.BYTES, Integer.BYTES));
        }
        LlamaLayouts.BATCH_TOKEN.set(struct, tokens);
        LlamaLayouts.BATCH_EMBD.set(struct, MemorySegment.NULL);
        LlamaLayouts.BATCH_POS.set(struct, positions);
        LlamaLayouts.BATCH_N_SEQ_ID.set(struct, counts);
        LlamaLayouts.BATCH_SEQ_ID.set(struct, idPointers);
        LlamaLayouts.BATCH_LOGITS.set(struct, logits);
    }

    void clear() {
        size = 0;
    }

    int size() {
        return size;
    }

    int capacity() {
        return capacity;
    }

    /** Adds one token; returns its index, which {@code llama_get_logits_ith} takes when {@code wantLogits}. */
    int add(int token, int position, int sequence, boolean wantLogits) {
        if (size == capacity) {
            throw new IllegalStateException("batch is full (" + capacity + " tokens)");
        }
        tokens.setAtIndex(JAVA_INT, size, token);
        positions.setAtIndex(JAVA_INT, size, position);
        sequenceIds.setAtIndex(JAVA_INT, size, sequence);
        logits.set(JAVA_BYTE, size, wantLogits ? (byte) 1 : (byte) 0);
        return size++;
    }

    /** The struct to pass to {@code llama_decode}, its {@code n_tokens} set to the entries added. */
    MemorySegment struct() {
        LlamaLayouts.BATCH_N_TOKENS.set(struct, size);
        return struct;
    }
}
