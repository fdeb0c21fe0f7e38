package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** {@code /api/v1/models}: the model registry, its versions, imports and classification. */
public final class ModelWire {
    private ModelWire() {}

    /** {@code PATCH /api/v1/models/{ns}/{model}}. */
    public record Classify(String classification) {
        public Classify {
            Required.field(classification, "classification");
        }
    }

    /**
     * {@code POST /api/v1/models/{ns}/{model}/versions}: import a file that lies on the server.
     *
     * @param path absolute, on the server
     * @param format {@code gguf} or {@code onnx}; default: from the file
     * @param project for a new model; default: the caller's
     * @param classification default: {@code internal} for a new model, else unchanged
     */
    @JsonInclude(JsonInclude.Include.NON_NULL) // what the command line leaves out, it does not send as null
    /**
     * {@code POST …/versions}: a file on the server.
     *
     * @param signature the model-signing bundle on the server that signs it; none: {@code PATH.sig} beside the file,
     *     when there is one
     */
    public record ImportPath(String path, @Nullable String format, @Nullable String project,
                             @Nullable String classification, @Nullable String signature) {
        public ImportPath(String path, @Nullable String format, @Nullable String project,
                          @Nullable String classification) {
            this(path, format, project, classification, null);
        }

        public ImportPath {
            Required.field(path, "path");
        }
    }

    /**
     * {@code POST …/versions/V/signature}: sign with the site's key, or, with {@code bundle}, take a signature made
     * elsewhere (the model-signing bundle's JSON) over the digests the registry shows for the version's files.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Sign(com.fasterxml.jackson.databind.@Nullable JsonNode bundle) {}

    public record File(String path, String sha256, long size) {
        public File {
            requireNonNull(path, "path is null");
        }
    }

    /** One immutable version of a model. */
    public record Version(String model, int version, String format, long sizeBytes, List<File> files,
                          Instant importedAt, String importedBy, String source, Map<String, Object> metadata,
                          @com.fasterxml.jackson.annotation.JsonInclude(
                                  com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                          @Nullable Signature signature) {
        public Version {
            requireNonNull(model, "model is null");
            files = List.copyOf(requireNonNull(files, "files is null"));
        }
    }

    /**
     * The signature a version was imported with.
     *
     * @param signer who signed it, as verified at import ({@code ""}: kept unverified, the policy being off)
     */
    public record Signature(String signer, Instant verifiedAt) {}

    public record Model(String name, String project, String classification, Instant createdAt, String createdBy,
                        int latestVersion, List<Version> versions) {
        public Model {
            requireNonNull(name, "name is null");
            versions = List.copyOf(requireNonNull(versions, "versions is null"));
        }
    }

    public record ModelList(List<Model> models) {
        public ModelList {
            models = List.copyOf(requireNonNull(models, "models is null"));
        }
    }

    /** The versions a delete removed, as {@code ns/model:v}. */
    public record Deleted(List<String> deleted) {
        public Deleted {
            deleted = List.copyOf(requireNonNull(deleted, "deleted is null"));
        }
    }
}
