package ai.factory.models.bundle;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a bundle holds ({@code bundle.json}, itself among the files its signature lists): the models, each version
 * with its files and its own signature, and the runtime, if the bundle carries the factory.
 *
 * @param format {@link #FORMAT}
 * @param createdBy who exported it, on the exporting site
 * @param factory the exporting factory's version and commit
 */
public record BundleContents(String format, Instant createdAt, String createdBy, String factory, List<Model> models,
                             @Nullable Runtime runtime) {
    public static final String FORMAT = "factory-bundle/1";

    public BundleContents {
        requireNonNull(format, "format is null");
        requireNonNull(createdAt, "createdAt is null");
        models = List.copyOf(requireNonNull(models, "models is null"));
    }

    /**
     * One model version.
     *
     * @param signature the archive entry of its own signature (a model-signing bundle), or null when it has none
     */
    public record Model(String name, int version, String format, String classification, Map<String, Object> metadata,
                        List<File> files, @Nullable String signature) {
        public Model {
            requireNonNull(name, "name is null");
            files = List.copyOf(requireNonNull(files, "files is null"));
            metadata = metadata == null ? Map.of() : metadata;
        }
    }

    /** A model's file: its name in the model, the archive entry holding it, its SHA-256 and size. */
    public record File(String path, String entry, String sha256, long size) {
        public File {
            requireNonNull(path, "path is null");
            requireNonNull(entry, "entry is null");
            requireNonNull(sha256, "sha256 is null");
        }
    }

    /**
     * The factory itself, under {@code runtime/}: the launcher, the jar and its libraries, and the llama.cpp natives.
     *
     * @param llamaNatives the natives' provenance (package, version), or null when the bundle carries none
     */
    public record Runtime(String launcher, int files, long bytes, @Nullable String llamaNatives) {}
}
