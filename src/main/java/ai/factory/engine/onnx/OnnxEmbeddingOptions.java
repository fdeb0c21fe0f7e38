package ai.factory.engine.onnx;

import org.jspecify.annotations.Nullable;

import java.nio.file.Path;

/**
 * How an {@link OnnxEmbeddingEngine} runs its model.
 *
 * @param threads threads one model run may use
 * @param maxInputTokens the most tokens one input may have, special tokens included; BERT-style
 *     models cannot go past their position table (512 for all-MiniLM-L6-v2)
 * @param maxBatchInputs the most inputs in one model run. The default, 1, keeps an input's vector
 *     independent of the other inputs in its request: int8 models with dynamic quantization (the
 *     bundled MiniLM is one) scale activations over the whole batch, so batch-mates move each
 *     other's vectors (cosine to the solo vector measured as low as 0.986). Float models batch
 *     exactly, and batching pays off on many cores; raise it for them.
 * @param maxBatchTokens the most tokens, padding included, in one model run; bounds the memory a
 *     run needs (attention scores grow with this times the longest input)
 * @param nativeCacheDir where DJL may unpack its tokenizer library, or null for DJL's default
 *     ({@code ~/.djl.ai}); only the first engine opened in a process decides, since the library
 *     loads once
 */
public record OnnxEmbeddingOptions(
        int threads, int maxInputTokens, int maxBatchInputs, int maxBatchTokens, @Nullable Path nativeCacheDir) {
    public static final int DEFAULT_MAX_INPUT_TOKENS = 512;
    public static final int DEFAULT_MAX_BATCH_INPUTS = 1;
    public static final int DEFAULT_MAX_BATCH_TOKENS = 4096;

    public OnnxEmbeddingOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1: " + threads);
        }
        // [CLS] and [SEP] alone take two tokens.
        if (maxInputTokens < 3) {
            throw new IllegalArgumentException("maxInputTokens must be at least 3: " + maxInputTokens);
        }
        if (maxBatchInputs < 1) {
            throw new IllegalArgumentException("maxBatchInputs must be at least 1: " + maxBatchInputs);
        }
        if (maxBatchTokens < maxInputTokens) {
            throw new IllegalArgumentException(
                    "maxBatchTokens (%d) must be at least maxInputTokens (%d), or a longest input could never run"
                            .formatted(maxBatchTokens, maxInputTokens));
        }
    }

    /** One thread per processor, 512 tokens per input, one input per run, DJL's default cache. */
    public static OnnxEmbeddingOptions defaults() {
        return new OnnxEmbeddingOptions(
                Runtime.getRuntime().availableProcessors(),
                DEFAULT_MAX_INPUT_TOKENS,
                DEFAULT_MAX_BATCH_INPUTS,
                DEFAULT_MAX_BATCH_TOKENS,
                null);
    }

    public OnnxEmbeddingOptions withThreads(int threads) {
        return new OnnxEmbeddingOptions(threads, maxInputTokens, maxBatchInputs, maxBatchTokens, nativeCacheDir);
    }

    public OnnxEmbeddingOptions withMaxInputTokens(int maxInputTokens) {
        return new OnnxEmbeddingOptions(threads, maxInputTokens, maxBatchInputs, maxBatchTokens, nativeCacheDir);
    }

    public OnnxEmbeddingOptions withBatching(int maxBatchInputs, int maxBatchTokens) {
        return new OnnxEmbeddingOptions(threads, maxInputTokens, maxBatchInputs, maxBatchTokens, nativeCacheDir);
    }

    public OnnxEmbeddingOptions withNativeCacheDir(Path nativeCacheDir) {
        return new OnnxEmbeddingOptions(threads, maxInputTokens, maxBatchInputs, maxBatchTokens, nativeCacheDir);
    }
}
