package ai.factory;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.models.synth.ModelSynthesizer;
import ai.factory.models.synth.SynthOptions;
import ai.factory.models.synth.SynthQuantization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared test models beside the project ({@code ../shared/models}); tests skip only where that folder is absent. */
public final class TestModels {
    private TestModels() {}

    public static Path tinyLlama() {
        Path dir = Path.of(System.getProperty("factory.test.models", "../shared/models"));
        Path file = dir.resolve("llama-2-tiny-random.gguf");
        assumeTrue(Files.isRegularFile(file), "test model " + file + " is absent; tests that need it are skipped");
        return file;
    }

    /**
     * A 10M-parameter Llama (q8_0 weights, random) with the tiny model's tokenizer, synthesized into {@code dir}
     * unless it is there already. Its attention heads of 64 elements are whole blocks of a quantized KV cache, which
     * the tiny model's heads of 4 are not.
     */
    public static Path smallLlama(Path dir) {
        Path file = dir.resolve("small-llama.gguf");
        if (!Files.isRegularFile(file)) {
            try {
                ModelSynthesizer.synthesize(new SynthOptions(10_000_000, SynthQuantization.Q8_0, tinyLlama(), 1024, 7),
                        file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }

    /**
     * A Llama of one 256-wide block (F16 weights, random; the "3M" parameter target, which the tied 32000-token
     * embedding exceeds) with the tiny model's tokenizer, synthesized into {@code dir} unless it is there already: wide
     * enough to learn a small corpus, small enough to train in seconds.
     */
    public static Path trainableLlama(Path dir) {
        Path file = dir.resolve("trainable-llama.gguf");
        if (!Files.isRegularFile(file)) {
            try {
                ModelSynthesizer.synthesize(new SynthOptions(3_000_000, SynthQuantization.F16, tinyLlama(), 1024, 7),
                        file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }
}
