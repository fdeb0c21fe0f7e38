package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TokenEvent;
import org.jspecify.annotations.Nullable;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One submitted request: the caller reads its events, the engine thread writes them.
 *
 * <p>Concurrency: tokens are only ever added by the engine thread. {@link TokenEvent.Done} is added exactly
 * once, by whoever ends the request first: the engine thread, or a caller's {@link #cancel()} that took
 * the request out of the waiting queue before the engine admitted it. The event queue is unbounded so
 * the engine never blocks on a slow reader; a request's events are bounded by its context length.
 */
final class LlamaGeneration implements Generation {
    private final GenerationRequest request;
    private final int[] prompt;
    private final long seed;
    private final @Nullable LlamaGeneration leader;
    private final Consumer<LlamaGeneration> onCancel;
    private final BlockingQueue<TokenEvent> events = new LinkedBlockingQueue<>();
    private final AtomicBoolean done = new AtomicBoolean();
    private final AtomicReference<MemorySegment> grammar;
    private volatile boolean cancelled;
    /**
     * Engine steps that decoded some of this generation's prompt, and those after its first token while it went on
     * generating (each of which must have given it its next token). Written by the engine thread; read once done.
     */
    int promptSteps;
    int generatingSteps;
    /**
     * The engine's step count when the generation was queued, and when its first token was sampled (-1 until then):
     * how many steps it waited, counted by the engine (for tests of scheduling).
     */
    volatile long queuedStep;
    volatile long firstTokenStep = -1;

    LlamaGeneration(GenerationRequest request, int[] prompt, long seed, Consumer<LlamaGeneration> onCancel) {
        this(request, prompt, MemorySegment.NULL, seed, onCancel);
    }

    /**
     * @param grammar the request's grammar sampler, parsed when it was submitted, or NULL; the generation owns it
     *     until {@link #takeGrammar} hands it on
     */
    LlamaGeneration(GenerationRequest request, int[] prompt, MemorySegment grammar, long seed,
                    Consumer<LlamaGeneration> onCancel) {
        this(request, prompt, grammar, seed, null, onCancel);
    }

    /**
     * @param leader the first generation of the same prompt submitted together with this one (another choice of the
     *     same request), whose prompt cells this one may copy instead of computing them again; null for none
     */
    LlamaGeneration(GenerationRequest request, int[] prompt, MemorySegment grammar, long seed,
            @Nullable LlamaGeneration leader,
                    Consumer<LlamaGeneration> onCancel) {
        this.leader = leader;
        this.grammar = new AtomicReference<>(requireNonNull(grammar, "grammar is null"));
        this.request = requireNonNull(request, "request is null");
        this.prompt = requireNonNull(prompt, "prompt is null");
        this.seed = seed;
        this.onCancel = requireNonNull(onCancel, "onCancel is null");
    }

    GenerationRequest request() {
        return request;
    }

    /**
     * The grammar sampler, handed over once: to the slot that runs the generation, or to be freed when it never
     * runs. NULL when there is none or it was taken already.
     */
    MemorySegment takeGrammar() {
        return grammar.getAndSet(MemorySegment.NULL);
    }

    /** The prompt as validated at submission (a copy the caller can't change). */
    int[] prompt() {
        return prompt;
    }

    long seed() {
        return seed;
    }

    /** The generation whose prompt this one shares, or null. */
    @Nullable LlamaGeneration leader() {
        return leader;
    }

    boolean cancelled() {
        return cancelled;
    }

    @Override
    public TokenEvent next(Duration timeout) throws InterruptedException {
        return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void cancel() {
        cancelled = true;
        onCancel.accept(this);
    }

    /** Engine thread only, before {@link #finish}. */
    void emit(TokenEvent.Token token) {
        events.add(token);
    }

    /** Ends the generation; false (and nothing added) if it had already ended. */
    boolean finish(TokenEvent.Done event) {
        if (done.compareAndSet(false, true)) {
            events.add(event);
            return true;
        }
        return false;
    }
}
