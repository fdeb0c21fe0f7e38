package ai.factory.models.synth;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * A model {@link ModelSynthesizer} wrote.
 *
 * @param file where it is
 * @param shape its shape
 * @param quantization the type of its matrices
 * @param sizeBytes the file's size
 */
public record SynthesizedModel(Path file, LlamaShape shape, SynthQuantization quantization, long sizeBytes) {
    public SynthesizedModel {
        requireNonNull(file, "file is null");
        requireNonNull(shape, "shape is null");
        requireNonNull(quantization, "quantization is null");
    }

    public long parameters() {
        return shape.parameters();
    }
}
