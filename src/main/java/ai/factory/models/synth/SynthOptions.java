package ai.factory.models.synth;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * What to synthesize.
 *
 * @param parameterTarget the parameter count to come close to, e.g. 1,000,000,000
 * @param quantization the type of the weight matrices
 * @param tokenizer a GGUF file whose {@code tokenizer.*} metadata the model takes, and so its vocabulary
 * @param contextLength {@code llama.context_length}
 * @param seed the seed of the random weights
 */
public record SynthOptions(long parameterTarget, SynthQuantization quantization, Path tokenizer, int contextLength, long seed) {
    public static final int DEFAULT_CONTEXT = 4096;

    public SynthOptions {
        if (parameterTarget <= 0) {
            throw new IllegalArgumentException("parameterTarget must be positive: " + parameterTarget);
        }
        requireNonNull(quantization, "quantization is null");
        requireNonNull(tokenizer, "tokenizer is null");
        if (contextLength < 16) {
            throw new IllegalArgumentException("contextLength must be at least 16: " + contextLength);
        }
    }
}
