package ai.factory.models;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.models.gguf.GgufReader;
import ai.factory.security.Principal;
import ai.factory.storage.BlobRef;
import ai.factory.storage.BlobStore;
import ai.factory.storage.StagedBlob;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The model registry: models, their immutable versions, and the blobs that hold their files.
 *
 * <p>An import streams each file into the blob store (digest computed on the way), checks the file,
 * and only then records the version in one transaction; a failed or killed import leaves no version
 * and no visible blob. Blobs are shared between versions with the same content and deleted when the
 * last version using them goes. A per-digest lock orders "blob committed → row inserted" against
 * "rows deleted → unreferenced blob removed", so a concurrent import never loses its blob.
 */
public final class ModelRegistry {
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    private static final Pattern CLASSIFICATION = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
    private static final String UNIQUE_VIOLATION = "23505";

    private final Jdbi jdbi;
    private final BlobStore blobs;
    private final Clock clock;
    private final long maxFileBytes;
    private final Map<String, ReentrantLock> digestLocks = new ConcurrentHashMap<>();

    public ModelRegistry(Jdbi jdbi, BlobStore blobs, Clock clock, long maxFileBytes) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.blobs = requireNonNull(blobs, "blobs is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.maxFileBytes = maxFileBytes;
    }

    /** A file to import: its name within the version and a stream of its bytes. */
    public record Upload(String fileName, InputStream content, String expectedSha256) {
        public Upload {
            requireNonNull(fileName, "fileName is null");
            requireNonNull(content, "content is null");
        }
    }

    /**
     * Where a new version goes: the model's project when the model is new ({@code null}: the importer's own), and
     * its classification ({@code null}: unchanged, or {@link Model#DEFAULT_CLASSIFICATION} for a new model).
     */
    public record Placement(String project, String classification) {
        public static final Placement DEFAULT = new Placement(null, null);

        public Placement {
            if (classification != null) {
                checkClassification(classification);
            }
        }
    }

    /** Imports one file that lies on the server's own disk. */
    public ModelVersion importPath(ModelName name, Path file, Optional<ModelFormat> format, Principal by) {
        return importPath(name, file, format, by, Placement.DEFAULT);
    }

    public ModelVersion importPath(ModelName name, Path file, Optional<ModelFormat> format, Principal by,
                                   Placement placement) {
        Path source = file.toAbsolutePath().normalize();
        if (!Files.isRegularFile(source)) {
            throw FactoryException.invalidParam("path", "no such file on the server: " + source);
        }
        try (InputStream in = Files.newInputStream(source)) {
            String fileName = checkFileName(source.getFileName().toString());
            return importFiles(name, format, List.of(new Upload(fileName, in, null)), Map.of(), by, "file:" + source,
                    placement);
        } catch (NoSuchFileException e) {
            throw FactoryException.invalidParam("path", "no such file on the server: " + source);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read " + source + ": " + e.getMessage(), e);
        }
    }

    /** Imports one streamed file, e.g. an HTTP upload. */
    public ModelVersion importUpload(ModelName name, Upload upload, Optional<ModelFormat> format, Principal by) {
        return importUpload(name, upload, format, by, Placement.DEFAULT);
    }

    public ModelVersion importUpload(ModelName name, Upload upload, Optional<ModelFormat> format, Principal by,
                                     Placement placement) {
        return importFiles(name, format, List.of(upload), Map.of(), by, "upload:" + upload.fileName(), placement);
    }

    /**
     * Imports a version made of several files (e.g. an ONNX graph and its tokenizer). The first file is the
     * model itself and decides the format when none is given.
     */
    public ModelVersion importFiles(ModelName name, Optional<ModelFormat> format, List<Upload> uploads,
                                    Map<String, Object> extraMetadata, Principal by, String source) {
        return importFiles(name, format, uploads, extraMetadata, by, source, Placement.DEFAULT);
    }

    public ModelVersion importFiles(ModelName name, Optional<ModelFormat> format, List<Upload> uploads,
                                    Map<String, Object> extraMetadata, Principal by, String source,
                                    Placement placement) {
        requireNonNull(name, "name is null");
        requireNonNull(placement, "placement is null");
        requireNonNull(by, "by is null");
        if (uploads.isEmpty()) {
            throw FactoryException.invalidParam("file", "a model version needs at least one file");
        }
        List<StagedBlob> staged = new ArrayList<>();
        try {
            for (Upload u : uploads) {
                checkFileName(u.fileName());
                staged.add(blobs.stage(u.content(), maxFileBytes));
            }
            ModelFormat detected = detectFormat(staged.getFirst().tempFile(), uploads.getFirst().fileName(), format);
            Map<String, Object> metadata = new LinkedHashMap<>(readMetadata(detected, staged.getFirst().tempFile()));
            metadata.putAll(extraMetadata);
            List<ModelFile> files = new ArrayList<>();
            List<ReentrantLock> held = new ArrayList<>();
            try {
                for (int i = 0; i < staged.size(); i++) {
                    StagedBlob s = staged.get(i);
                    held.add(lock(s.sha256()));
                    BlobRef ref = blobs.commit(s, uploads.get(i).expectedSha256());
                    files.add(new ModelFile(uploads.get(i).fileName(), ref.sha256(), ref.size()));
                }
                return insertVersion(name, detected, metadata, files, by, source, placement);
            } finally {
                held.forEach(ReentrantLock::unlock);
            }
        } finally {
            staged.forEach(StagedBlob::close);
        }
    }

    public List<Model> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT name FROM models ORDER BY name")
                        .mapTo(String.class).list())
                .stream()
                .map(n -> find(ModelName.parse(n)))
                .flatMap(Optional::stream)
                .toList();
    }

    public Optional<Model> find(ModelName name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT project, classification, created_at, created_by FROM models "
                        + "WHERE name = :n")
                .bind("n", name.toString())
                .map((rs, ctx) -> new Model(name, rs.getString("project"), rs.getString("classification"),
                        rs.getTimestamp("created_at").toInstant(),
                        rs.getString("created_by"), versions(h, name)))
                .findOne());
    }

    public Model get(ModelName name) {
        return find(name).orElseThrow(() -> notFound(name.toString()));
    }

    /** The version a reference names, or the latest when it names none. */
    public ModelVersion resolve(ModelRef ref) {
        Model model = get(ref.name());
        if (ref.version().isEmpty()) {
            return model.latest();
        }
        int v = ref.version().getAsInt();
        return model.versions().stream().filter(x -> x.version() == v).findFirst()
                .orElseThrow(() -> notFound(ref.toString()));
    }

    /** Where a file of a version lies on this node's disk. */
    public Path filePath(ModelVersion version, String fileName) {
        return blobs.path(version.file(fileName).sha256());
    }

    /** Sets a model's classification, the label site policies decide on. */
    public Model classify(ModelName name, String classification) {
        checkClassification(classification);
        int updated = jdbi.withHandle(h -> h.createUpdate("UPDATE models SET classification = :c WHERE name = :n")
                .bind("c", classification).bind("n", name.toString()).execute());
        if (updated == 0) {
            throw notFound(name.toString());
        }
        return get(name);
    }

    /** Deletes one version, or every version when the reference names none. Refused while any is deployed. */
    public List<ModelVersion> delete(ModelRef ref) {
        Model model = get(ref.name());
        List<ModelVersion> doomed = ref.version().isEmpty() ? model.versions() : List.of(resolve(ref));
        jdbi.useTransaction(h -> {
            for (ModelVersion v : doomed) {
                Optional<String> deployment = h.createQuery(
                                "SELECT id FROM deployments WHERE model_name = :n AND version = :v")
                        .bind("n", v.model().toString()).bind("v", v.version())
                        .mapTo(String.class).findFirst();
                if (deployment.isPresent()) {
                    throw new FactoryException(ErrorCode.CONFLICT, "model " + v.ref() + " is deployed (deployment "
                            + deployment.get() + "); delete the deployment first");
                }
                h.createUpdate("DELETE FROM model_files WHERE model_name = :n AND version = :v")
                        .bind("n", v.model().toString()).bind("v", v.version()).execute();
                h.createUpdate("DELETE FROM model_versions WHERE model_name = :n AND version = :v")
                        .bind("n", v.model().toString()).bind("v", v.version()).execute();
            }
            long left = h.createQuery("SELECT COUNT(*) FROM model_versions WHERE model_name = :n")
                    .bind("n", model.name().toString()).mapTo(Long.class).one();
            if (left == 0) {
                h.createUpdate("DELETE FROM models WHERE name = :n").bind("n", model.name().toString()).execute();
            }
        });
        doomed.stream().flatMap(v -> v.files().stream()).map(ModelFile::sha256).distinct()
                .forEach(this::deleteBlobIfUnreferenced);
        return doomed;
    }

    private void deleteBlobIfUnreferenced(String sha256) {
        ReentrantLock lock = lock(sha256);
        try {
            long refs = jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM model_files WHERE sha256 = :s")
                    .bind("s", sha256).mapTo(Long.class).one());
            if (refs == 0) {
                blobs.delete(sha256);
            }
        } finally {
            lock.unlock();
        }
    }

    private ModelVersion insertVersion(ModelName name, ModelFormat format, Map<String, Object> metadata,
                                       List<ModelFile> files, Principal by, String source, Placement placement) {
        String json;
        try {
            json = Json.mapper().writeValueAsString(metadata);
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot encode metadata of " + name, e);
        }
        Instant now = clock.instant();
        // Concurrent imports of one model race for the next version number; the loser retries.
        for (int attempt = 0; ; attempt++) {
            try {
                int version = jdbi.inTransaction(h -> {
                    Optional<String> owner = h.createQuery("SELECT project FROM models WHERE name = :n")
                            .bind("n", name.toString()).mapTo(String.class).findOne();
                    if (owner.isEmpty()) {
                        h.createUpdate("INSERT INTO models (name, project, classification, created_at, created_by) "
                                        + "VALUES (:n, :p, :c, :at, :by)")
                                .bind("n", name.toString())
                                .bind("p", placement.project() == null ? by.project() : placement.project())
                                .bind("c", placement.classification() == null ? Model.DEFAULT_CLASSIFICATION
                                        : placement.classification())
                                .bind("at", Timestamp.from(now)).bind("by", by.id()).execute();
                    } else if (placement.project() != null && !placement.project().equals(owner.get())) {
                        throw new FactoryException(ErrorCode.CONFLICT, "model " + name + " belongs to project '"
                                + owner.get() + "', not '" + placement.project() + "'");
                    } else if (placement.classification() != null) {
                        h.createUpdate("UPDATE models SET classification = :c WHERE name = :n")
                                .bind("c", placement.classification()).bind("n", name.toString()).execute();
                    }
                    int next = h.createQuery("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions "
                                    + "WHERE model_name = :n")
                            .bind("n", name.toString()).mapTo(Integer.class).one();
                    h.createUpdate("INSERT INTO model_versions (model_name, version, format, metadata, imported_at, "
                                    + "imported_by, source) VALUES (:n, :v, :f, :m, :at, :by, :src)")
                            .bind("n", name.toString()).bind("v", next).bind("f", format.id()).bind("m", json)
                            .bind("at", Timestamp.from(now)).bind("by", by.id()).bind("src", source).execute();
                    for (ModelFile f : files) {
                        h.createUpdate("INSERT INTO model_files (model_name, version, path, sha256, size_bytes) "
                                        + "VALUES (:n, :v, :p, :s, :size)")
                                .bind("n", name.toString()).bind("v", next).bind("p", f.path())
                                .bind("s", f.sha256()).bind("size", f.size()).execute();
                    }
                    return next;
                });
                return new ModelVersion(name, version, format, metadata, files, now, by.id(), source);
            } catch (UnableToExecuteStatementException e) {
                if (attempt >= 10 || !isUniqueViolation(e)) {
                    throw e;
                }
            }
        }
    }

    private static boolean isUniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && UNIQUE_VIOLATION.equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    private static List<ModelVersion> versions(Handle h, ModelName name) {
        Map<Integer, List<ModelFile>> files = new LinkedHashMap<>();
        h.createQuery("SELECT version, path, sha256, size_bytes FROM model_files WHERE model_name = :n "
                        + "ORDER BY version, path")
                .bind("n", name.toString())
                .map((rs, ctx) -> {
                    files.computeIfAbsent(rs.getInt("version"), k -> new ArrayList<>())
                            .add(new ModelFile(rs.getString("path"), rs.getString("sha256"), rs.getLong("size_bytes")));
                    return null;
                })
                .list();
        return h.createQuery("SELECT version, format, metadata, imported_at, imported_by, source FROM model_versions "
                        + "WHERE model_name = :n ORDER BY version")
                .bind("n", name.toString())
                .map((rs, ctx) -> new ModelVersion(name, rs.getInt("version"), ModelFormat.parse(rs.getString("format")),
                        decode(rs.getString("metadata")), files.getOrDefault(rs.getInt("version"), List.of()),
                        rs.getTimestamp("imported_at").toInstant(), rs.getString("imported_by"), rs.getString("source")))
                .list();
    }

    private static Map<String, Object> decode(String json) {
        try {
            return Json.mapper().readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "stored model metadata is not JSON", e);
        }
    }

    private static ModelFormat detectFormat(Path file, String fileName, Optional<ModelFormat> hint) {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read staged file: " + e.getMessage(), e);
        }
        boolean gguf = n == 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F';
        // An ONNX file is a protobuf ModelProto; its first field on disk is ir_version (field 1, varint: tag 0x08).
        boolean onnx = n > 0 && head[0] == 0x08;
        ModelFormat format = hint.orElseGet(() -> {
            if (gguf) {
                return ModelFormat.GGUF;
            }
            if (onnx && fileName.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
                return ModelFormat.ONNX;
            }
            throw new FactoryException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "'" + fileName
                    + "' is not a model file the factory knows: expected GGUF (starts with 'GGUF') or ONNX (.onnx)");
        });
        switch (format) {
            case GGUF -> {
                if (!gguf) {
                    throw new FactoryException(ErrorCode.INVALID_REQUEST,
                            "'" + fileName + "' is not a GGUF file: it does not start with the magic 'GGUF'");
                }
            }
            case ONNX -> {
                if (!onnx) {
                    throw new FactoryException(ErrorCode.INVALID_REQUEST,
                            "'" + fileName + "' is not an ONNX model: it does not start with a protobuf ir_version field");
                }
            }
        }
        return format;
    }

    private static Map<String, Object> readMetadata(ModelFormat format, Path file) {
        return switch (format) {
            case GGUF -> {
                try {
                    yield GgufReader.read(file).summary();
                } catch (IOException e) {
                    throw new FactoryException(ErrorCode.INTERNAL, "cannot read staged file: " + e.getMessage(), e);
                }
            }
            case ONNX -> Map.of();
        };
    }

    private static String checkClassification(String classification) {
        if (classification == null || !CLASSIFICATION.matcher(classification).matches()) {
            throw FactoryException.invalidParam("classification", "invalid classification '" + classification
                    + "'; use 1-32 lowercase letters, digits or -, e.g. internal, confidential, restricted");
        }
        return classification;
    }

    /** The file name if it is one a version may hold (no folders, no oddities); INVALID_REQUEST otherwise. */
    public static String checkFileName(String fileName) {
        if (fileName == null || !FILE_NAME.matcher(fileName).matches()) {
            throw FactoryException.invalidParam("filename", "invalid file name '" + fileName
                    + "'; use letters, digits, '.', '_' or '-' (no folders)");
        }
        return fileName;
    }

    private ReentrantLock lock(String sha256) {
        ReentrantLock lock = digestLocks.computeIfAbsent(sha256, k -> new ReentrantLock());
        lock.lock();
        return lock;
    }

    private static FactoryException notFound(String what) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no model '" + what + "' in the registry");
    }
}
