package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.EngineLoad;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TextModelInfo;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.TokenEvent.FinishReason;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A GGUF text model served by llama.cpp with continuous batching: one model, one context with a sequence
 * per slot, and one engine thread that runs the loop.
 *
 * <p>Each step the engine thread (1) ends cancelled generations, (2) admits waiting requests into free
 * slots, preferring the slot whose cached tokens share the longest prefix with the prompt, (3) builds one
 * batch holding the pending token of every generating slot plus as many prompt tokens from prefilling
 * slots as the {@link StepBudget} allows beside them (so a long prompt is computed in chunks over several steps
 * and never freezes the streams already running), (4) calls {@code llama_decode} once, and (5) samples each slot
 * that asked for logits with its own sampler chain, detokenizes, applies stop strings and emits the token. A
 * finished sequence keeps its KV cells (and the slot remembers their tokens) until another request needs the slot.
 *
 * <p>A prompt whose beginning another slot holds, busy or not, takes those cells rather than computing them again
 * (with {@link LlamaEngineOptions#sharePrefixes}): a free slot is given a copy of the holder's sequence, cut back to
 * the tokens both share ({@link #prefixSource}). The free slot chosen for the copy is the one freed longest ago, so
 * the free slots' caches are evicted least recently used first, and a running sequence's cells are never touched.
 *
 * <p>Generations submitted together ({@link #submitAll}: the choices of one request) are queued all or none, and
 * those with the same prompt compute it once: the first (the leader) fills its prompt, and each of the others copies
 * the leader's cells into its own sequence ({@code llama_memory_seq_cp}) and samples its first token from the
 * leader's logits with its own sampler (see {@link #share}).
 *
 * <p>The context is created with {@code kv_unified = false}: every sequence gets its own KV stream of
 * exactly {@code contextPerSequence} cells, so one long generation can never starve the others of cache
 * space, and a prompt accepted at submit time is guaranteed to fit. (A unified cache, llama-server's choice
 * when it picks the slot count itself, lets llama.cpp compute a mixed step in one micro-batch, but every
 * sequence then attends over every sequence's cells; on the 1B benchmark model it was the slower of the two,
 * see docs/benchmarks.md.)
 *
 * <p>The context computes with a {@link CpuThreadpool} kept for its lifetime, as llama-server does, rather
 * than the pool ggml otherwise builds and tears down for every graph.
 *
 * <p>Concurrency: {@link #submitAll}, {@link #tokenize}, {@link #detokenize}, {@link #info} and {@link #load}
 * may be called from any thread. The llama.cpp context, the batch, the slots and the sampler chains are
 * touched only by the engine thread; requests reach it through a bounded queue and leave through each
 * {@link Generation}'s event queue. Tokenization uses the vocabulary, which llama.cpp documents as
 * thread-safe. Every public call holds the read side of {@code lifecycle}; {@link #close()} takes the
 * write side to mark the engine closed, stops and joins the thread, and only then frees native memory, so
 * nothing is freed under a running call.
 */
public final class LlamaEngine implements TextEngine {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaEngine.class);
    private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
    /** The fewest prompt tokens worth copying from another slot rather than computing. */
    static final int MIN_SHARED_PREFIX = 32;
    /** The most steps a prompt waits for a chunk beside generating sequences while shorter prompts go first. */
    static final int MAX_PROMPT_WAIT = 8;

    private final LlamaLibrary llama;
    private final Decoder decoder;
    private final LlamaModel model;
    private final LlamaEngineOptions options;
    private final String name;
    private final TextModelInfo info;
    private final Arena arena;
    private final MemorySegment context;
    private final @Nullable CpuThreadpool threadpool;
    private final MemorySegment memory;
    private final LlamaBatch batch;
    private final Slot[] slots;
    /** Sequences that only keep prefixes slots held before new requests took them; never given a request. */
    private final Slot[] prefixCache;
    private final StepBudget budget;
    private final WaitingQueue waiting;
    private final Logprobs logprobs = new Logprobs();
    private final ConstrainedSampler constrained;
    private final Thread thread;
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    /** Held while a request's generations are queued, so that they go in together or not at all. */
    private final Lock admission = new ReentrantLock();

    private boolean closed; // guarded by lifecycle
    private volatile boolean stopping;
    private volatile int active;
    /** Every token sampled since the engine was loaded. */
    private final java.util.concurrent.atomic.LongAdder generatedTotal = new java.util.concurrent.atomic.LongAdder();

    // Engine thread only.
    private MemorySegment pieceBuffer;
    /** Steps decoded so far; written by the engine thread, read when a generation is queued. */
    private volatile long steps;
    private volatile long sharedPrefixes;
    private volatile long keptPrefixes;
    /** Copies of the tokens every sequence holds, as of the last admission, for {@link #cachedPrefix}. */
    private volatile int[][] held = new int[0][];
    private boolean heldChanged; // engine thread only
    private int prefillStart;

    /** {@code llama_decode}, or a stand-in that fails on purpose in tests. */
    @FunctionalInterface
    interface Decoder {
        int decode(MemorySegment context, MemorySegment batch);
    }

    private LlamaEngine(LlamaLibrary llama, Decoder decoder, LlamaModel model, LlamaEngineOptions options, String name,
                        Arena arena, MemorySegment context, @Nullable CpuThreadpool threadpool) {
        this.llama = llama;
        this.decoder = decoder;
        this.model = model;
        this.options = options;
        this.name = name;
        this.arena = arena;
        this.context = context;
        this.threadpool = threadpool;
        this.memory = llama.getMemory(context);
        this.info = new TextModelInfo(options.contextPerSequence(), options.parallel(), model.vocabularySize(),
                model.chatTemplate(), model.bos() < 0 ? "" : model.pieceText(model.bos(), true),
                model.eos() < 0 ? "" : model.pieceText(model.eos(), true), model.addBos());
        this.batch = new LlamaBatch(arena, options.batchSize());
        this.pieceBuffer = arena.allocate(256);
        this.constrained = new ConstrainedSampler(llama, arena, model.vocabularySize());
        this.budget = new StepBudget(options.stepTokens(), LlamaEngineOptions.AUTO_STEP_COST);
        this.slots = new Slot[options.parallel()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(i, options.contextPerSequence());
        }
        this.prefixCache = new Slot[options.prefixCache()];
        for (int i = 0; i < prefixCache.length; i++) {
            prefixCache[i] = new Slot(slots.length + i, options.contextPerSequence());
        }
        this.waiting = new WaitingQueue(options.queueCapacity());
        this.thread = Thread.ofPlatform()
                .name("llama-engine-" + name + "-" + THREAD_NUMBERS.incrementAndGet())
                .daemon(true)
                .unstarted(this::run);
    }

    /**
     * Loads a GGUF model and starts its engine thread. A file llama.cpp can't load is {@code INVALID_REQUEST}
     * with llama.cpp's reason; a context it can't create (e.g. too little memory) is {@code UNAVAILABLE}.
     */
    public static LlamaEngine load(LlamaRuntime runtime, Path gguf, LlamaEngineOptions options) {
        requireNonNull(runtime, "runtime is null");
        return load(runtime, gguf, options, runtime.library()::decode);
    }

    /**
     * As {@link #load(LlamaRuntime, Path, LlamaEngineOptions)}, from an anonymous in-memory file (a decrypted model
     * in a {@code memfd}, at {@code /proc/self/fd/N}) shown as {@code name}. On the CPU llama.cpp maps the file and
     * locks the mapping (so the weights are the file's pages, once, and are not swapped out while the lock holds);
     * with layers on GPUs it reads the file instead of mapping it, so the file's memory can go as soon as the caller
     * closes it. Either way the caller may close the file once this returns.
     */
    public static LlamaEngine loadFromMemory(LlamaRuntime runtime, Path memoryFile, String name, LlamaEngineOptions options) {
        requireNonNull(runtime, "runtime is null");
        return load(runtime, memoryFile, name, true, options, runtime.library()::decode);
    }

    private static String describe(GpuOffload gpu) {
        if (!gpu.offloads()) {
            return "on the CPU";
        }
        String layers = gpu.gpuLayers() == GpuOffload.ALL_LAYERS ? "all layers" : gpu.gpuLayers() + " layers";
        return switch (gpu.splitMode()) {
            case NONE -> layers + " on GPU " + gpu.mainGpu();
            case LAYER, ROW -> layers + " split " + gpu.splitMode().name().toLowerCase(java.util.Locale.ROOT)
                    + "-wise over GPUs " + gpu.tensorSplit();
        };
    }

    static LlamaEngine load(LlamaRuntime runtime, Path gguf, LlamaEngineOptions options, Decoder decoder) {
        requireNonNull(gguf, "gguf is null");
        return load(runtime, gguf, gguf.getFileName().toString().replaceFirst("\\.gguf$", ""), false, options, decoder);
    }

    private static LlamaEngine load(LlamaRuntime runtime, Path gguf, String name, boolean inMemory,
                                    LlamaEngineOptions options, Decoder decoder) {
        requireNonNull(runtime, "runtime is null");
        requireNonNull(decoder, "decoder is null");
        requireNonNull(gguf, "gguf is null");
        requireNonNull(options, "options is null");
        LlamaLibrary llama = runtime.library();
        if (options.sequences() > llama.maxParallelSequences()) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, ("parallel %d and a prefix cache of %d are more than "
                    + "llama.cpp's limit of %d sequences").formatted(options.parallel(), options.prefixCache(),
                    llama.maxParallelSequences()));
        }
        LlamaModel model = LlamaModel.load(runtime, gguf, inMemory ? name : gguf.getFileName().toString(), options.gpu(),
                inMemory);
        // Owned by the engine built below, which closes it in close(); every failure before that closes it here.
        @SuppressWarnings("MustBeClosedChecker")
        Arena arena = Arena.ofShared();
        MemorySegment context = MemorySegment.NULL;
        CpuThreadpool threadpool = null;
        try {
            String reason;
            try (Arena scratch = Arena.ofConfined(); LlamaLog.Capture errors = LlamaLog.captureErrors()) {
                MemorySegment params = llama.contextDefaultParams(scratch);
                LlamaLayouts.CTX_N_CTX.set(params, options.contextPerSequence() * options.sequences());
                LlamaLayouts.CTX_N_BATCH.set(params, options.batchSize());
                LlamaLayouts.CTX_N_UBATCH.set(params, options.microBatchSize());
                LlamaLayouts.CTX_N_SEQ_MAX.set(params, options.sequences());
                LlamaLayouts.CTX_N_THREADS.set(params, options.threads());
                LlamaLayouts.CTX_N_THREADS_BATCH.set(params, options.threads());
                LlamaLayouts.CTX_NO_PERF.set(params, true);
                LlamaLayouts.CTX_EMBEDDINGS.set(params, false);
                LlamaLayouts.CTX_KV_UNIFIED.set(params, false);
                // A quantized V cache needs flash attention, which llama.cpp's default (auto) then turns on.
                LlamaLayouts.CTX_TYPE_K.set(params, options.cacheType().ggmlType);
                LlamaLayouts.CTX_TYPE_V.set(params, options.cacheType().ggmlType);
                // Sliding-window models otherwise prune old cells, and a cached prefix could no longer be reused.
                LlamaLayouts.CTX_SWA_FULL.set(params, true);
                context = llama.initFromModel(model.handle(), params);
                reason = errors.reason("llama.cpp gave no reason");
            }
            if (context.equals(MemorySegment.NULL)) {
                throw new FactoryException(ErrorCode.UNAVAILABLE,
                        "cannot create a llama.cpp context for %s: %s".formatted(gguf.getFileName(), reason));
            }
            int perSequence = llama.nCtxSeq(context);
            if (perSequence < options.contextPerSequence()) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "llama.cpp gave %s only %d tokens per sequence; %d were asked for"
                        .formatted(gguf.getFileName(), perSequence, options.contextPerSequence()));
            }
            threadpool = CpuThreadpool.create(llama, options.threads());
            if (threadpool != null) {
                llama.attachThreadpool(context, threadpool.handle(), threadpool.handle());
            }
            LlamaEngine engine = new LlamaEngine(llama, decoder, model, options, name, arena, context, threadpool);
            engine.thread.start();
            LOG.info("loaded GGUF model {}: {} parameters, {} MiB, {} slots of {} tokens, {} threads, {}", name,
                    model.parameterCount(), model.sizeBytes() >> 20, options.parallel(), options.contextPerSequence(),
                    options.threads(), describe(options.gpu()));
            return engine;
        } catch (RuntimeException e) {
            if (!context.equals(MemorySegment.NULL)) {
                llama.free(context);
            }
            if (threadpool != null) {
                threadpool.close();
            }
            model.close();
            arena.close();
            throw e;
        }
    }

    @Override
    public TextModelInfo info() {
        return info;
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        requireNonNull(text, "text is null");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return model.tokenize(text, addSpecial, parseSpecial);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public String detokenize(int[] tokens) {
        requireNonNull(tokens, "tokens is null");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            checkVocabulary(tokens, "tokens");
            return model.detokenize(tokens);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Checks every request, parses their grammars (a bad one is the caller's 400 now, not a failed generation later),
     * then queues them all under {@code admission} or none: only this method adds to the queue, and everyone else
     * only takes from it, so room seen under the lock is still there when they are added.
     */
    @Override
    public List<Generation> submitAll(List<GenerationRequest> requests) {
        requireNonNull(requests, "requests is null");
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("no requests");
        }
        if (requests.size() > options.queueCapacity()) {
            throw FactoryException.invalidParam("n", ("model %s queues at most %d sequences, and this request needs %d "
                    + "(one per choice); ask for fewer choices").formatted(name, options.queueCapacity(), requests.size()));
        }
        List<int[]> prompts = new ArrayList<>(requests.size());
        for (GenerationRequest request : requests) {
            prompts.add(checkedPrompt(requireNonNull(request, "request is null")));
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            List<LlamaGeneration> generations = new ArrayList<>(requests.size());
            try {
                for (int i = 0; i < requests.size(); i++) {
                    generations.add(generation(requests.get(i), prompts.get(i), leader(generations, prompts.get(i))));
                }
            } catch (RuntimeException e) {
                generations.forEach(this::discardGrammar);
                throw e;
            }
            admission.lock();
            try {
                if (waiting.remainingCapacity() < generations.size()) {
                    generations.forEach(this::discardGrammar);
                    throw new FactoryException(ErrorCode.RATE_LIMITED, generations.size() == 1
                            ? "model %s is busy: its queue is full (%d waiting); retry later".formatted(name, options.queueCapacity())
                            : "model %s is busy: its queue has no room for the %d sequences this request needs; retry later"
                                    .formatted(name, generations.size()));
                }
                waiting.addAll(generations);
            } finally {
                admission.unlock();
            }
            return List.copyOf(generations);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The request's prompt (a copy), checked against the context and the vocabulary, with its logit biases. */
    private int[] checkedPrompt(GenerationRequest request) {
        int[] prompt = request.prompt().clone();
        if (prompt.length + 1 > options.contextPerSequence()) {
            throw FactoryException.about(ErrorCode.CONTEXT_LENGTH_EXCEEDED, "prompt", ("the prompt has %d tokens, and with at least one generated token "
                    + "that is more than this model's context of %d tokens per sequence; shorten the prompt")
                    .formatted(prompt.length, options.contextPerSequence()));
        }
        checkVocabulary(prompt, "prompt");
        checkVocabulary(request.logitBias().keySet().stream().mapToInt(Integer::intValue).toArray(), "logit_bias");
        return prompt;
    }

    /** The first of {@code earlier} with the same prompt, which the next one may copy the prompt's cells from. */
    private static @Nullable LlamaGeneration leader(List<LlamaGeneration> earlier, int[] prompt) {
        for (LlamaGeneration generation : earlier) {
            if (generation.leader() == null && Arrays.equals(generation.prompt(), prompt)) {
                return generation;
            }
        }
        return null;
    }

    /** A generation with its grammar parsed (under the read lock, as the vocabulary lives until close). */
    private LlamaGeneration generation(GenerationRequest request, int[] prompt, @Nullable LlamaGeneration leader) {
        Samplers.Constraint constraint = request.grammar() == null ? null
                : Samplers.resolve(request.grammar(), model::tokenWithPiece);
        // Parsed once, here: the sampler travels with the generation to its slot.
        MemorySegment grammar = constraint == null ? MemorySegment.NULL
                : Samplers.grammar(llama, model.vocab(), constraint);
        Long seed = request.sampling().seed();
        LlamaGeneration generation = new LlamaGeneration(request, prompt, grammar,
                seed != null ? seed : ThreadLocalRandom.current().nextLong(), leader, this::cancelWaiting);
        generation.queuedStep = steps;
        return generation;
    }

    /** How many prompts have copied their beginning from another slot's cells so far. */
    long sharedPrefixes() {
        return sharedPrefixes;
    }

    /** How many slots' cells the prefix cache has taken before they made way for new requests. */
    long keptPrefixes() {
        return keptPrefixes;
    }

    @Override
    public int cachedPrefix(int[] prompt) {
        int longest = 0;
        for (int[] tokens : held) {
            int limit = Math.min(tokens.length, prompt.length);
            int i = 0;
            while (i < limit && tokens[i] == prompt[i]) {
                i++;
            }
            longest = Math.max(longest, i);
        }
        return longest;
    }

    @Override
    public EngineLoad load() {
        return new EngineLoad(active, waiting.size(), options.parallel(), options.queueCapacity(),
                generatedTotal.sum());
    }

    /**
     * Stops the engine: every generation, running or waiting, ends with CANCELLED; then the engine thread is
     * joined and the sampler chains, the context and the model are freed, in that order. Waits for calls in
     * flight. Closing twice is harmless.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        stopping = true;
        thread.interrupt();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        // The thread ends every generation on its way out; this catches any it never saw.
        cancelAllWaiting();
        for (Slot slot : slots) {
            freeSampler(slot);
        }
        llama.free(context);
        if (threadpool != null) {
            threadpool.close();
        }
        model.close();
        arena.close();
        LOG.info("unloaded GGUF model {}", name);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new FactoryException(ErrorCode.UNAVAILABLE,
                    "model %s has been unloaded; retry, and the request will go to a running replica".formatted(name));
        }
    }

    private void checkVocabulary(int[] tokens, String param) {
        model.checkTokens(tokens, param);
    }

    /** A caller cancelled: if the engine hasn't admitted the request yet, it ends here and now. */
    private void cancelWaiting(LlamaGeneration generation) {
        if (waiting.remove(generation)) {
            discardGrammar(generation);
            generation.finish(new TokenEvent.Done(FinishReason.CANCELLED, generation.prompt().length, 0, 0, null));
        }
    }

    /** Frees the grammar sampler of a generation that will never run (cancelled, refused, or the engine closing). */
    private void discardGrammar(LlamaGeneration generation) {
        MemorySegment grammar = generation.takeGrammar();
        if (!grammar.equals(MemorySegment.NULL)) {
            llama.samplerFree(grammar);
        }
    }

    private void cancelAllWaiting() {
        List<LlamaGeneration> left = new ArrayList<>();
        waiting.drainTo(left);
        for (LlamaGeneration generation : left) {
            discardGrammar(generation);
            generation.finish(new TokenEvent.Done(FinishReason.CANCELLED, generation.prompt().length, 0, 0, null));
        }
    }

    // ---- The engine thread ----

    private void run() {
        try (LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            while (!stopping) {
                try {
                    if (admit()) {
                        step(errors);
                    }
                } catch (InterruptedException e) {
                    // close() interrupts to wake the thread; the loop condition decides.
                } catch (RuntimeException | Error e) {
                    LOG.error("engine step failed for model {}; ending its running generations", name, e);
                    failAll("the engine failed: " + e);
                }
            }
            for (Slot slot : slots) {
                if (!slot.free()) {
                    finish(slot, FinishReason.CANCELLED, null);
                }
            }
            cancelAllWaiting();
        }
    }

    /** Ends cancelled generations and fills free slots; false when there is nothing to decode. */
    private boolean admit() throws InterruptedException {
        for (Slot slot : slots) {
            if (!slot.free() && slot.generation().cancelled()) {
                finish(slot, FinishReason.CANCELLED, null);
            }
        }
        for (Slot slot : slots) {
            // A leader that ended before its prompt was done (cancelled, failed) leaves its followers to compute it.
            if (slot.awaiting != null && slot.awaiting.generation != slot.generation().leader()) {
                slot.awaiting = null;
            }
        }
        if (active == 0) {
            if (heldChanged) {
                publishHeld();
            }
            // Idle: sleep until a request arrives (or close() interrupts).
            start(waiting.take());
        }
        while (active < slots.length) {
            // Batch work leaves a replica's last free slot to interactive calls (see WaitingQueue).
            LlamaGeneration next = waiting.poll(slots.length > 1 && active == slots.length - 1);
            if (next == null) {
                break;
            }
            start(next);
        }
        if (heldChanged) {
            publishHeld();
        }
        return active > 0;
    }

    /** Publishes what every sequence holds for {@link #cachedPrefix}: once per admission that changed it. */
    private void publishHeld() {
        heldChanged = false;
        List<int[]> tokens = new ArrayList<>(slots.length + prefixCache.length);
        for (Slot[] holders : List.of(slots, prefixCache)) {
            for (Slot slot : holders) {
                // A slot still filling its prompt will hold all of it: that is what the next turn shares.
                int[] prompt = slot.free() ? null : slot.prompt();
                tokens.add(prompt != null && prompt.length > slot.cached ? prompt.clone()
                        : Arrays.copyOf(slot.cache, slot.cached));
            }
        }
        held = tokens.toArray(int[][]::new);
    }

    private void start(LlamaGeneration generation) {
        if (generation.cancelled()) {
            discardGrammar(generation);
            generation.finish(new TokenEvent.Done(FinishReason.CANCELLED, generation.prompt().length, 0, 0, null));
            return;
        }
        MemorySegment sampler;
        MemorySegment grammar = generation.takeGrammar();
        try {
            GenerationRequest request = generation.request();
            sampler = Samplers.chain(llama, model.vocabularySize(), request.sampling(), request.logitBias(),
                    generation.seed(), options.contextPerSequence());
        } catch (RuntimeException e) {
            if (!grammar.equals(MemorySegment.NULL)) {
                llama.samplerFree(grammar);
            }
            // Taken off the queue but never in a slot: it must still end.
            generation.finish(new TokenEvent.Done(FinishReason.ERROR, generation.prompt().length, 0, 0,
                    "cannot set up sampling: " + e.getMessage()));
            return;
        }
        int[] prompt = generation.prompt();
        Slot slot = chooseSlot(slots, prompt);
        // At least the last prompt token is decoded again: its logits give the first generated token.
        int keep = Math.min(slot.commonPrefix(prompt), prompt.length - 1);
        Slot source = options.sharePrefixes() && generation.leader() == null
                ? prefixSource(slots, prefixCache, prompt, keep) : null;
        int cached = source == null ? -1 : indexOf(prefixCache, source);
        if (source != null && cached >= 0) {
            // The prefix cache holds more of the prompt: its sequence becomes a slot, and the free slot whose own cache
            // is worth least takes its place in the cache, cells and all. Nothing is copied, nothing is lost.
            Slot free = leastRecentlyUsed(slots);
            slots[indexOf(slots, free)] = source;
            prefixCache[cached] = free;
            slot = source;
            keep = Math.min(slot.commonPrefix(prompt), prompt.length - 1);
            sharedPrefixes++;
        } else if (source != null) {
            // Another slot (busy: a free one would have been chosen) holds more of the prompt: copy its cells into the
            // free slot whose own cache is worth least, and compute only the rest.
            slot = leastRecentlyUsed(slots);
            keepEvicted(slot, 0, source);
            copyCells(source, slot, Math.min(source.commonPrefix(prompt), prompt.length - 1));
            source.lastUsed = steps;
            keep = slot.cached;
            sharedPrefixes++;
        }
        if (keep < slot.cached) {
            if (cached < 0) {
                keepEvicted(slot, keep, null);
            }
            if (!llama.memorySeqRm(memory, slot.sequence, keep, -1)) {
                llama.memorySeqRm(memory, slot.sequence, -1, -1);
                keep = 0;
            }
            slot.cached = keep;
        }
        slot.sampler = sampler;
        slot.grammar = grammar;
        slot.generation = generation;
        slot.prompt = prompt;
        slot.promptIndex = keep;
        slot.promptWaits = 0;
        slot.reusedPromptTokens = keep;
        slot.generated = 0;
        slot.pendingToken = -1;
        slot.utf8 = new Utf8Pieces();
        slot.stops = new StopStrings(generation.request().stop());
        active++;
        heldChanged = true;
        share(slot);
    }

    /**
     * A generation whose leader (another choice of the same request, with the same prompt) holds or is computing
     * the prompt's cells takes them from it rather than computing them again, as llama-server does for the
     * completions of one prompt: while the leader still fills its prompt, this slot waits (taking no part in the
     * batch) and gets a copy of the leader's cells, and the logits of its last prompt token, in the step that
     * completes them ({@link #copyFromLeaders}); once the leader generates, this slot copies the cells now and
     * computes only the last prompt token again, for its logits. Not worth it when the slot's own cache already
     * holds the prompt.
     */
    private void share(Slot slot) {
        LlamaGeneration leader = slot.generation().leader();
        int last = slot.prompt().length - 1;
        if (leader == null || slot.promptIndex >= last) {
            return;
        }
        for (Slot source : slots) {
            if (source.generation == leader) {
                if (source.prefilling()) {
                    slot.awaiting = source;
                } else {
                    copyCells(source, slot, last);
                }
                return;
            }
        }
    }

    /**
     * Before a free slot's cells past {@code keep} make way for a new request: when they are worth keeping (at least
     * {@link #MIN_SHARED_PREFIX} tokens that no other sequence holds), a prefix cache sequence takes a copy of them:
     * one holding an earlier state of the same tokens (a conversation's turn before), else the least recently used. The copy, like every copy between sequences, is made by the next decode, before it
     * computes anything, in the order the copies were asked for: so it still sees this slot's cells as they are now.
     * The {@code source} the slot is about to copy from is not overwritten.
     */
    private void keepEvicted(Slot slot, int keep, @Nullable Slot source) {
        if (prefixCache.length == 0 || slot.cached - keep < MIN_SHARED_PREFIX) {
            return;
        }
        int[] held = Arrays.copyOf(slot.cache, slot.cached);
        for (Slot other : slots) {
            if (other != slot && other.commonPrefix(held) == held.length) {
                return;
            }
        }
        Slot oldest = null;
        Slot older = null;
        for (Slot kept : prefixCache) {
            if (kept.commonPrefix(held) == held.length) {
                kept.lastUsed = steps;
                return;
            }
            if (kept == source || kept.copyPending) {
                continue;
            }
            if (kept.cached > 0 && kept.commonPrefix(held) == kept.cached) {
                // An earlier state of the same conversation: the longer one replaces it rather than another's.
                older = kept;
            }
            if (oldest == null || kept.lastUsed < oldest.lastUsed) {
                oldest = kept;
            }
        }
        Slot target = older != null ? older : oldest;
        if (target == null) {
            return;
        }
        copyCells(slot, target, slot.cached);
        target.lastUsed = steps;
        keptPrefixes++;
    }

    /**
     * After a decode: every slot waiting for a leader whose prompt this step completed copies the leader's cells and
     * samples its first token from the leader's logits (which no sampler changes), with its own sampler.
     */
    private void copyFromLeaders() {
        for (Slot slot : slots) {
            Slot source = slot.awaiting;
            if (source != null && source.generation == slot.generation().leader() && source.logitsIndex >= 0
                    && !source.prefilling()) {
                slot.awaiting = null;
                copyCells(source, slot, source.cached);
                slot.logitsIndex = source.logitsIndex;
            }
        }
    }

    /**
     * Makes {@code slot}'s sequence a copy of {@code source}'s first {@code length} cells (their tokens are the
     * prompt both share). The copy is whole (the only kind llama.cpp allows between sequences' own streams); the
     * cells past {@code length} are then dropped from this sequence.
     */
    private void copyCells(Slot source, Slot slot, int length) {
        llama.memorySeqRm(memory, slot.sequence, -1, -1);
        llama.memorySeqCp(memory, source.sequence, slot.sequence);
        slot.copyPending = true;
        if (length < source.cached && !llama.memorySeqRm(memory, slot.sequence, length, -1)) {
            // A memory that cannot drop a tail (a recurrent model's) keeps none of it: the prompt is computed anew.
            llama.memorySeqRm(memory, slot.sequence, -1, -1);
            length = 0;
        }
        System.arraycopy(source.cache, 0, slot.cache, 0, length);
        slot.cached = length;
        slot.promptIndex = length;
        slot.reusedPromptTokens = length;
    }

    /**
     * After a failed step: a sequence whose copied cells the failed decode may not have filled trusts none of its
     * cache, and one still filling its prompt starts it again.
     */
    private void forgetUncopied() {
        for (Slot slot : prefixCache) {
            if (slot.copyPending) {
                slot.copyPending = false;
                llama.memorySeqRm(memory, slot.sequence, -1, -1);
                slot.cached = 0;
            }
        }
        for (Slot slot : slots) {
            if (slot.copyPending) {
                slot.copyPending = false;
                llama.memorySeqRm(memory, slot.sequence, -1, -1);
                slot.cached = 0;
                if (!slot.free()) {
                    slot.promptIndex = 0;
                    slot.reusedPromptTokens = 0;
                }
            }
        }
    }

    /**
     * The sequence to copy a prompt's beginning from, a slot or one of the prefix cache's: the one holding the most of
     * it (a slot before the cache among equals), when that is at least {@link #MIN_SHARED_PREFIX} tokens more than the
     * {@code own} tokens the chosen slot already holds (a copy moves the sequence's whole KV stream, which is worth it
     * only for a prefix that would take a while to compute); null when none is. A slot whose own copy the next decode
     * still has to make holds nothing yet.
     */
    static @Nullable Slot prefixSource(Slot[] slots, Slot[] prefixCache, int[] prompt, int own) {
        Slot source = null;
        int best = Math.min(own + MIN_SHARED_PREFIX, prompt.length - 1) - 1;
        for (Slot[] holders : List.of(slots, prefixCache)) {
            for (Slot candidate : holders) {
                if (candidate.copyPending) {
                    continue;
                }
                int common = Math.min(candidate.commonPrefix(prompt), prompt.length - 1);
                if (common > best) {
                    source = candidate;
                    best = common;
                }
            }
        }
        return source != null && best >= own + MIN_SHARED_PREFIX ? source : null;
    }

    private static int indexOf(Slot[] slots, Slot slot) {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == slot) {
                return i;
            }
        }
        return -1;
    }

    /** The free slot freed longest ago. There is at least one free slot. */
    static Slot leastRecentlyUsed(Slot[] slots) {
        Slot slot = null;
        for (Slot candidate : slots) {
            if (candidate.free() && (slot == null || candidate.lastUsed < slot.lastUsed)) {
                slot = candidate;
            }
        }
        return requireNonNull(slot, "no free slot");
    }

    /**
     * The free slot for a prompt: the one whose cached tokens share the longest prefix with it, and among equals
     * the least recently used. There is at least one free slot.
     */
    static Slot chooseSlot(Slot[] slots, int[] prompt) {
        Slot slot = null;
        int best = -1;
        for (Slot candidate : slots) {
            if (!candidate.free()) {
                continue;
            }
            int common = candidate.commonPrefix(prompt);
            if (slot == null || common > best || (common == best && candidate.lastUsed < slot.lastUsed)) {
                slot = candidate;
                best = common;
            }
        }
        return requireNonNull(slot, "no free slot");
    }

    /**
     * Fills {@code batch} for one step: the pending token of every generating slot, then prompt tokens of prefilling
     * slots, as many as {@code budget} allows beside the generating ones: shared out by {@link #promptShares} when
     * none generates, else by {@link #shortestFirst}.
     * Sets each slot's {@code stepStart} and {@code logitsIndex} (-1 for a slot with nothing to sample this step).
     * Returns how many of the batch's tokens are generating slots' (the rest are prompt tokens).
     */
    static int fillBatch(LlamaBatch batch, Slot[] slots, int prefillStart, StepBudget budget) {
        batch.clear();
        for (Slot slot : slots) {
            slot.logitsIndex = -1;
            slot.stepStart = -1;
            if (!slot.free() && slot.pendingToken >= 0) {
                slot.stepStart = slot.cached;
                slot.logitsIndex = batch.add(slot.pendingToken, slot.cached, slot.sequence, true);
                slot.append(slot.pendingToken);
                slot.pendingToken = -1;
            }
        }
        int generating = batch.size();
        int room = budget.promptTokens(generating, batch.capacity() - generating, waiting(slots));
        int[] shares = generating == 0 ? promptShares(slots, prefillStart, room) : shortestFirst(slots, room);
        for (int k = 0; k < slots.length; k++) {
            Slot slot = slots[k];
            int count = shares[k];
            if (count == 0) {
                if (slot.prefilling()) {
                    slot.promptWaits++;
                }
                continue;
            }
            slot.promptWaits = 0;
            slot.stepStart = slot.cached;
            slot.generation().promptSteps++;
            int[] prompt = slot.prompt();
            for (int i = 0; i < count; i++) {
                int token = prompt[slot.promptIndex++];
                boolean last = slot.promptIndex == prompt.length;
                int index = batch.add(token, slot.cached, slot.sequence, last);
                slot.append(token);
                if (last) {
                    slot.logitsIndex = index;
                }
            }
        }
        return generating;
    }

    /** The prompts waiting for tokens and how soon the generating sequences end, for the {@link StepBudget}. */
    private static StepBudget.Waiting waiting(Slot[] slots) {
        int shortest = Integer.MAX_VALUE;
        long prompts = 0;
        int stepsToEnd = 0;
        for (Slot slot : slots) {
            if (slot.prefilling()) {
                if (slot.promptIndex == slot.reusedPromptTokens) {
                    // Only a prompt not begun may go whole: a long one's last chunk stays a chunk.
                    shortest = Math.min(shortest, slot.promptLeft());
                }
                prompts += slot.promptLeft();
            } else if (slot.logitsIndex >= 0) {
                stepsToEnd = Math.max(stepsToEnd, slot.stepsLeft());
            }
        }
        return new StepBudget.Waiting(shortest, prompts, stepsToEnd);
    }

    /**
     * How many of {@code room} prompt tokens each slot (by index) gets when no sequence generates: the prompts with the
     * most tokens left take them first, down to the next one's count, then together, so that their counts left come
     * level and then fall together. Prompts that arrived within a step or two of each other (the next requests of
     * clients whose last ones ended together) so reach their first tokens in the same step, in the time the whole
     * batch would take them one after the other: their sequences then generate in the same steps, and none of them
     * waits between two of its tokens while another's prompt is computed. What does not divide evenly goes to the
     * first ones from slot {@code first} on (which rotates every step).
     */
    static int[] promptShares(Slot[] slots, int first, int room) {
        int n = slots.length;
        int[] shares = new int[n];
        int left = room;
        while (left > 0) {
            // The most tokens any prompt still has, how many prompts have that many, and the next count below it.
            int top = 0;
            int atTop = 0;
            int below = 0;
            for (int i = 0; i < n; i++) {
                int remaining = slots[i].prefilling() ? slots[i].promptLeft() - shares[i] : 0;
                if (remaining > top) {
                    below = top;
                    top = remaining;
                    atTop = 1;
                } else if (remaining == top && remaining > 0) {
                    atTop++;
                } else if (remaining > below) {
                    below = remaining;
                }
            }
            if (top == 0) {
                break;
            }
            // Take the top ones down to the next count (or as far as the room goes), evenly.
            int each = Math.min(top - below, Math.max(1, left / atTop));
            for (int k = 0; k < n && left > 0; k++) {
                int i = (first + k) % n;
                if (slots[i].prefilling() && slots[i].promptLeft() - shares[i] == top) {
                    int give = Math.min(each, left);
                    shares[i] += give;
                    left -= give;
                }
            }
        }
        return shares;
    }

    /**
     * How many of {@code room} prompt tokens each slot (by index) gets beside generating sequences: all to the prompt
     * with the fewest tokens left, then the next, and so on; but a prompt that got nothing in the last
     * {@link #MAX_PROMPT_WAIT} steps goes first, so that a long prompt is not starved by short ones arriving all the
     * time. A step's prompt chunk then stays in one or two
     * sequences, which llama.cpp computes as one micro-batch each ({@code split_equal} puts tokens of different counts
     * per sequence in different micro-batches, each a pass over the weights), and the prompt nearest its first token
     * gets it soonest.
     */
    static int[] shortestFirst(Slot[] slots, int room) {
        int[] shares = new int[slots.length];
        int left = room;
        while (left > 0) {
            int next = -1;
            for (int i = 0; i < slots.length; i++) {
                Slot slot = slots[i];
                if (shares[i] == 0 && slot.prefilling() && (next < 0 || before(slot, slots[next]))) {
                    next = i;
                }
            }
            if (next < 0) {
                break;
            }
            shares[next] = Math.min(left, slots[next].promptLeft());
            left -= shares[next];
        }
        return shares;
    }

    /** Whether {@code slot}'s prompt goes before {@code other}'s beside generating sequences. */
    private static boolean before(Slot slot, Slot other) {
        boolean starved = slot.promptWaits >= MAX_PROMPT_WAIT;
        boolean otherStarved = other.promptWaits >= MAX_PROMPT_WAIT;
        if (starved != otherStarved) {
            return starved;
        }
        return starved ? slot.promptWaits > other.promptWaits : slot.promptLeft() < other.promptLeft();
    }

    private void step(LlamaLog.Capture errors) {
        steps++;
        for (Slot slot : slots) {
            if (!slot.free() && slot.generated > 0) {
                // Counted apart from the batch: each of these steps must give the generation its next token.
                slot.generation().generatingSteps++;
            }
        }
        int generating = fillBatch(batch, slots, prefillStart, budget);
        prefillStart = (prefillStart + 1) % slots.length;
        if (batch.size() == 0) {
            return;
        }
        errors.clear();
        StepEvent event = new StepEvent();
        event.begin();
        long started = System.nanoTime();
        int result = decoder.decode(context, batch.struct());
        if (result != 0) {
            failBatch(result, errors.reason("no reason given"));
            return;
        }
        budget.record(generating, batch.size() - generating, System.nanoTime() - started);
        if (event.shouldCommit()) {
            event.model = name;
            event.generating = generating;
            event.promptTokens = batch.size() - generating;
            for (Slot slot : slots) {
                if (slot.stepStart >= 0 && slot.generated == 0) {
                    event.promptSequences++;
                }
            }
            event.commit();
        }
        for (Slot slot : slots) {
            slot.copyPending = false;
        }
        for (Slot slot : prefixCache) {
            slot.copyPending = false;
        }
        copyFromLeaders();
        for (Slot slot : slots) {
            if (slot.logitsIndex >= 0) {
                try {
                    sample(slot);
                } catch (FactoryException e) {
                    // This sequence cannot go on (its grammar allows no token); the others can.
                    finish(slot, FinishReason.ERROR, e.getMessage());
                }
            }
        }
    }

    /** A batch entry's logits in place: llama.cpp's output buffer, valid until the next decode. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    private MemorySegment logitsRow(int index) {
        MemorySegment row = llama.getLogitsIth(context, index);
        if (row.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("llama.cpp has no logits for batch entry " + index);
        }
        return row.reinterpret((long) model.vocabularySize() * Float.BYTES);
    }

    private void sample(Slot slot) {
        GenerationRequest request = slot.generation().request();
        int token = slot.grammar.equals(MemorySegment.NULL)
                ? llama.samplerSample(slot.sampler, context, slot.logitsIndex)
                : constrained.sample(slot.sampler, slot.grammar, logitsRow(slot.logitsIndex));
        slot.generated++;
        if (slot.generated == 1) {
            slot.generation().firstTokenStep = steps;
        }
        generatedTotal.increment();
        float logprob = Float.NaN;
        List<TokenEvent.TopLogprob> top = List.of();
        if (request.logprobs()) {
            MemorySegment logits = logitsRow(slot.logitsIndex);
            logprobs.scan(logits, model.vocabularySize(), request.topLogprobs());
            logprob = logprobs.of(logits, token);
            if (logprobs.topCount() > 0) {
                List<TokenEvent.TopLogprob> alternatives = new ArrayList<>(logprobs.topCount());
                for (int i = 0; i < logprobs.topCount(); i++) {
                    int id = logprobs.topId(i);
                    alternatives.add(new TokenEvent.TopLogprob(id, pieceString(id), logprobs.topLogprob(i)));
                }
                top = alternatives;
            }
        }

        boolean end = !request.ignoreEos() && model.isEndOfGeneration(token);
        Slot.Output output = slot.output(end, pieceBuffer, end ? 0 : piece(token, request.specialText()), request.maxTokens(),
                options.contextPerSequence());
        slot.generation().emit(new TokenEvent.Token(token, output.text(), logprob, top));
        if (output.finish() != null) {
            finish(slot, output.finish(), null);
        } else {
            slot.pendingToken = token;
        }
    }

    /** A token's bytes into {@link #pieceBuffer}, growing it for the rare long piece. */
    private int piece(int token) {
        return piece(token, false);
    }

    /** A token's text into the reused buffer; with {@code special}, control tokens render as their text. */
    private int piece(int token, boolean special) {
        int length = model.piece(token, pieceBuffer, special);
        if (length < 0) {
            pieceBuffer = arena.allocate(-length);
            length = model.piece(token, pieceBuffer, special);
        }
        return length;
    }

    /** A token's text on its own (a partial character shows as U+FFFD), through the reused buffer. */
    private String pieceString(int token) {
        int length = piece(token);
        return new String(pieceBuffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** llama_decode failed: every request in the batch ends with ERROR; the engine goes on. */
    private void failBatch(int result, String reason) {
        String error = "llama_decode failed (%d): %s".formatted(result, reason);
        LOG.warn("model {}: {}", name, error);
        for (Slot slot : slots) {
            if (slot.stepStart >= 0) {
                // Whatever of this step reached the cache is dropped, so cache and slot agree again.
                llama.memorySeqRm(memory, slot.sequence, slot.stepStart, -1);
                slot.cached = slot.stepStart;
                finish(slot, FinishReason.ERROR, error);
            }
        }
        forgetUncopied();
    }

    private void failAll(String error) {
        for (Slot slot : slots) {
            if (!slot.free()) {
                llama.memorySeqRm(memory, slot.sequence, -1, -1);
                slot.cached = 0;
                finish(slot, FinishReason.ERROR, error);
            }
        }
        forgetUncopied();
    }

    private void finish(Slot slot, FinishReason reason, @Nullable String error) {
        slot.generation().finish(new TokenEvent.Done(reason, slot.prompt().length, slot.generated, slot.reusedPromptTokens, error));
        freeSampler(slot);
        slot.generation = null;
        slot.prompt = null;
        slot.awaiting = null;
        slot.pendingToken = -1;
        slot.logitsIndex = -1;
        slot.stepStart = -1;
        slot.lastUsed = steps;
        active--;
        heldChanged = true;
    }

    private void freeSampler(Slot slot) {
        if (!slot.sampler.equals(MemorySegment.NULL)) {
            llama.samplerFree(slot.sampler);
            slot.sampler = MemorySegment.NULL;
        }
        if (!slot.grammar.equals(MemorySegment.NULL)) {
            llama.samplerFree(slot.grammar);
            slot.grammar = MemorySegment.NULL;
        }
    }
}
