package ai.factory.models;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One immutable version of a model: what was imported, from where, when and by whom.
 *
 * @param metadata what the factory read from the files (for GGUF: architecture, parameters, context, …)
 * @param source where the files came from, e.g. {@code upload:model.gguf} or {@code file:/data/model.gguf}
 */
public record ModelVersion(ModelName model, int version, ModelFormat format, Map<String, Object> metadata,
                           List<ModelFile> files, Instant importedAt, String importedBy, String source) {
    public ModelVersion {
        requireNonNull(model, "model is null");
        requireNonNull(format, "format is null");
        metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(requireNonNull(metadata, "metadata is null")));
        files = List.copyOf(requireNonNull(files, "files is null"));
        requireNonNull(importedAt, "importedAt is null");
        requireNonNull(importedBy, "importedBy is null");
        requireNonNull(source, "source is null");
    }

    public ModelRef ref() {
        return new ModelRef(model, java.util.OptionalInt.of(version));
    }

    public long sizeBytes() {
        return files.stream().mapToLong(ModelFile::size).sum();
    }

    public ModelFile file(String path) {
        return files.stream().filter(f -> f.path().equals(path)).findFirst()
                .orElseThrow(() -> new IllegalStateException(ref() + " has no file " + path));
    }
}
