package ai.factory.engine.llama;

/**
 * How a {@link LlamaEngine} runs one model replica.
 *
 * @param contextPerSequence tokens one sequence (prompt and output) may hold; the context llama.cpp
 *     allocates is this times {@code parallel}, split so each sequence has its own budget
 * @param parallel sequences decoded together (slots); more raise throughput at some cost in per-sequence
 *     speed and KV memory
 * @param threads CPU threads for decoding
 * @param batchSize the most tokens one decode step takes ({@code n_batch}): prompt chunks plus one per
 *     generating sequence
 * @param microBatchSize the most tokens llama.cpp computes at once within a step ({@code n_ubatch})
 * @param queueCapacity requests that may wait for a slot; beyond that, submissions are refused (429)
 * @param stepTokens the most tokens one step decodes while sequences are generating: each generating sequence's
 *     token, and prompt tokens to fill the rest (at least one); {@link #AUTO_STEP_TOKENS} (0) sizes the prompt chunk
 *     from measured step times so that a step with prompt tokens costs about {@link #AUTO_STEP_COST} times one
 *     without. With no sequence generating, prompts fill whole batches of {@code batchSize}, as nobody waits on them
 * @param cacheType the KV cache's element type
 * @param sharePrefixes whether a prompt whose beginning another slot holds copies those cells instead of computing
 *     them again
 * @param prefixCache sequences beyond the slots that keep what a slot held when a new request takes the slot (least
 *     recently used first out), so a conversation's next turn finds its beginning even after its slot served others;
 *     each takes the KV memory of a slot. Only with {@code sharePrefixes}
 * @param gpu which layers go to which GPUs; {@link GpuOffload#CPU} by default, so natives with a GPU backend
 *     still use none unless asked (llama.cpp's own default would offload everything to every GPU)
 */
public record LlamaEngineOptions(int contextPerSequence, int parallel, int threads, int batchSize, int microBatchSize,
                                 int queueCapacity, int stepTokens, KvCacheType cacheType, boolean sharePrefixes,
                                 int prefixCache, GpuOffload gpu) {
    public static final int DEFAULT_CONTEXT_PER_SEQUENCE = 4096;
    public static final int DEFAULT_PARALLEL = 4;
    public static final int DEFAULT_BATCH_SIZE = 512;
    public static final int DEFAULT_QUEUE_CAPACITY = 64;
    /** {@link #stepTokens} that adapts the prompt chunk to measured step times. */
    public static final int AUTO_STEP_TOKENS = 0;
    /**
     * With {@link #AUTO_STEP_TOKENS}: how many times a decode-only step's time a step with a prompt chunk may take. On
     * the CPU a chunk small enough for twice the time (about 16 tokens beside four generating sequences of a 1B model
     * on two cores) computed its tokens at half the speed of a batch of prompts alone and cost 18% of the output
     * rate on 128-token prompts (docs/benchmarks.md); four times leaves chunks of 40 to 60 tokens.
     */
    public static final double AUTO_STEP_COST = 4.0;

    public LlamaEngineOptions {
        java.util.Objects.requireNonNull(gpu, "gpu is null");
        java.util.Objects.requireNonNull(cacheType, "cacheType is null");
        // The prompt needs a token and generation at least one more.
        check(contextPerSequence >= 2, "contextPerSequence must be at least 2: " + contextPerSequence);
        check(parallel >= 1, "parallel must be at least 1: " + parallel);
        check(threads >= 1, "threads must be at least 1: " + threads);
        check(batchSize >= parallel, "batchSize (%d) must be at least parallel (%d): every generating sequence adds a token per step"
                .formatted(batchSize, parallel));
        check(microBatchSize >= 1 && microBatchSize <= batchSize,
                "microBatchSize must be between 1 and batchSize (%d): %d".formatted(batchSize, microBatchSize));
        check(queueCapacity >= 1, "queueCapacity must be at least 1: " + queueCapacity);
        check(prefixCache >= 0 && prefixCache <= 256, "prefixCache must be between 0 and 256 sequences: " + prefixCache);
        check(prefixCache == 0 || sharePrefixes, "a prefix cache needs sharePrefixes");
        check(stepTokens >= 0 && stepTokens <= batchSize,
                "stepTokens must be between 0 (auto) and batchSize (%d): %d".formatted(batchSize, stepTokens));
    }

    /** Options on the CPU alone. */
    public LlamaEngineOptions(int contextPerSequence, int parallel, int threads, int batchSize, int microBatchSize,
                              int queueCapacity, int stepTokens) {
        this(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity, stepTokens, KvCacheType.F16,
                true, 0, GpuOffload.CPU);
    }

    /**
     * 4096 tokens per sequence, 4 sequences, a thread per processor, batches of 512, 64 waiting, step tokens sized
     * from measurements, an f16 KV cache, prefixes shared between slots.
     */
    public static LlamaEngineOptions defaults() {
        return new LlamaEngineOptions(DEFAULT_CONTEXT_PER_SEQUENCE, DEFAULT_PARALLEL, Runtime.getRuntime().availableProcessors(),
                DEFAULT_BATCH_SIZE, DEFAULT_BATCH_SIZE, DEFAULT_QUEUE_CAPACITY, AUTO_STEP_TOKENS, KvCacheType.F16, true, 0,
                GpuOffload.CPU);
    }

    public LlamaEngineOptions withContextPerSequence(int contextPerSequence) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withParallel(int parallel) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withThreads(int threads) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withBatch(int batchSize, int microBatchSize) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withQueueCapacity(int queueCapacity) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    /** The step token budget: {@link #AUTO_STEP_TOKENS}, or at most {@link #batchSize} tokens. */
    public LlamaEngineOptions withStepTokens(int stepTokens) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withCacheType(KvCacheType cacheType) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    public LlamaEngineOptions withSharePrefixes(boolean sharePrefixes) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    /** Sequences that keep evicted slots' prefixes; see {@link #prefixCache}. */
    public LlamaEngineOptions withPrefixCache(int prefixCache) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    /** The sequences llama.cpp holds: the slots and the prefix cache's. */
    public int sequences() {
        return parallel + prefixCache;
    }

    public LlamaEngineOptions withGpu(GpuOffload gpu) {
        return new LlamaEngineOptions(contextPerSequence, parallel, threads, batchSize, microBatchSize, queueCapacity,
                stepTokens, cacheType, sharePrefixes, prefixCache, gpu);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
