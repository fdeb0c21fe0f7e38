package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.TokenEvent.FinishReason;
import org.jspecify.annotations.Nullable;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One sequence of the context ({@code seq_id}) and the request it serves, if any. It also remembers which
 * tokens its KV cells hold, by position, so a later request that starts with the same tokens reuses them.
 * Only the engine thread touches a slot.
 */
final class Slot {
    final int sequence;
    /** The tokens whose KV cells this sequence holds, at positions 0 to {@code cached - 1}. */
    final int[] cache;
    int cached;
    /** When the slot was last freed, for evicting the least recently used cache first. */
    long lastUsed;

    @Nullable LlamaGeneration generation;
    int @Nullable [] prompt;
    int promptIndex;
    /** Steps in a row in which this slot's prompt got no tokens. */
    int promptWaits;
    /** A sampled and emitted token not yet decoded, or -1. */
    int pendingToken = -1;
    /** The batch entry whose logits this step samples from, or -1. */
    int logitsIndex = -1;
    /** {@link #cached} before this step's tokens were added, or -1 when the slot has none in the batch. */
    int stepStart = -1;
    int generated;
    int reusedPromptTokens;
    MemorySegment sampler = MemorySegment.NULL;
    /** The request's grammar sampler, apart from the chain ({@link ConstrainedSampler}), or NULL. */
    MemorySegment grammar = MemorySegment.NULL;
    /** The current request's UTF-8 hold-back and stop strings; each request starts afresh. */
    Utf8Pieces utf8 = new Utf8Pieces();
    StopStrings stops = new StopStrings(List.of());
    /**
     * The slot of this generation's leader while it computes the prompt they share, which this one then copies
     * instead of computing it again; null otherwise. A slot that waits takes no part in the batch.
     */
    @Nullable Slot awaiting;
    /** Cells were copied into this sequence's metadata whose data the next {@code llama_decode} copies. */
    boolean copyPending;

    Slot(int sequence, int contextPerSequence) {
        this.sequence = sequence;
        this.cache = new int[contextPerSequence];
    }

    boolean free() {
        return generation == null;
    }

    /** The generation this slot serves; only for a slot that is not {@link #free}. */
    LlamaGeneration generation() {
        return requireNonNull(generation, "the slot is free");
    }

    /** The prompt of the generation this slot serves; only for a slot that is not {@link #free}. */
    int[] prompt() {
        return requireNonNull(prompt, "the slot is free");
    }

    boolean prefilling() {
        return generation != null && awaiting == null && promptIndex < prompt().length;
    }

    /** The prompt tokens not yet in the batch; only for a slot that is not {@link #free}. */
    int promptLeft() {
        return prompt().length - promptIndex;
    }

    /**
     * The most tokens a generating slot may still sample: up to its request's {@code max_tokens}, or until its context
     * is full; an end-of-generation token or a stop string may end it sooner.
     */
    int stepsLeft() {
        int maxTokens = generation().request().maxTokens();
        int toContext = cache.length - 1 - cached;
        return maxTokens > 0 ? Math.max(0, Math.min(maxTokens - generated, toContext)) : Math.max(0, toContext);
    }

    /** How many leading tokens of {@code tokens} this slot's cache already holds. */
    int commonPrefix(int[] tokens) {
        int limit = Math.min(cached, tokens.length);
        int i = 0;
        while (i < limit && cache[i] == tokens[i]) {
            i++;
        }
        return i;
    }

    /** Records a token added to the batch at position {@link #cached}. */
    void append(int token) {
        cache[cached++] = token;
    }

    /** The text a sampled token adds to the output, and why the generation ends with it (null: it goes on). */
    record Output(String text, @Nullable FinishReason finish) {}

    /**
     * Takes the token just sampled (already counted in {@link #generated}): its piece, {@code pieceLength} bytes of
     * {@code piece}, goes through the UTF-8 hold-back and the stop strings. {@code endOfGeneration} (EOS and the
     * like, not ignored) releases everything held; so does reaching {@code maxTokens} (0: no limit) or the context.
     */
    Output output(boolean endOfGeneration, MemorySegment piece, int pieceLength, int maxTokens, int contextPerSequence) {
        if (endOfGeneration) {
            return new Output(stops.append(utf8.flush()) + stops.flush(), FinishReason.STOP);
        }
        String text = stops.append(utf8.append(piece, pieceLength));
        if (stops.stopped()) {
            return new Output(text, FinishReason.STOP_SEQUENCE);
        }
        if ((maxTokens > 0 && generated >= maxTokens) || cached + 1 >= contextPerSequence) {
            // The context is full once prompt and output together fill it (the last token need not
            // be decoded, but a longer output would never fit in a later request's prompt either).
            // The output is complete: release what was held for a character or a stop string.
            text += stops.append(utf8.flush());
            if (stops.stopped()) {
                return new Output(text, FinishReason.STOP_SEQUENCE);
            }
            return new Output(text + stops.flush(), FinishReason.LENGTH);
        }
        return new Output(text, null);
    }
}
