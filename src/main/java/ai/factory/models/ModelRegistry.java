package ai.factory.models;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.PausePoints;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.GgufReader;
import ai.factory.identity.Principal;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.storage.BlobOwner;
import ai.factory.storage.BlobRef;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.DataKey;
import ai.factory.storage.StagedBlob;
import ai.factory.storage.ReadCache;
import ai.factory.storage.Sql;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * The model registry: models, their immutable versions, and the blobs that hold their files.
 *
 * <p>An import streams each file into the blob store (digest computed and content encrypted on the way under a
 * fresh data key), checks the file, and only then records the version and the blob's wrapped data key in one
 * transaction; a failed or killed import leaves no version and no readable blob. Every blob belongs to the keys of
 * one owner: the model's project, or the site for the bundled models ({@link #keyOwner}). Blobs are shared between
 * versions with the same content within one owner (never across owners, so destroying one project's keys leaves no
 * other project's model unreadable) and deleted, with their data key, when the last version using them goes. A
 * per-blob lock orders "blob committed → rows inserted" against "rows deleted → unreferenced blob removed", so a
 * concurrent import never loses its blob.
 */
public final class ModelRegistry {
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    private static final Pattern CLASSIFICATION = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
    /** The namespace of the models bundled with the factory, which belong to the site. */
    private static final String BUILTIN_NAMESPACE = "builtin";
    /** The source of a version the factory registers from its own jar. */
    public static final String BUNDLED_SOURCE = "bundled:";

    private final Jdbi jdbi;
    private final BlobStore blobs;
    private final KeyHierarchy keys;
    private final Clock clock;
    private final long maxFileBytes;
    private final Map<String, ReentrantLock> digestLocks = new ConcurrentHashMap<>();
    /**
     * Each model with its versions, as {@link #find} read it: every inference call authorizes against its model.
     * Every write of this registry forgets the model it wrote, once committed.
     */
    private final ReadCache<ModelName, Model> models;
    private final ModelSignatures signatures;

    /** A registry on a database other nodes may share: a model read is read again after {@link ReadCache#SHARED_MAX_AGE}. */
    public ModelRegistry(Jdbi jdbi, BlobStore blobs, KeyHierarchy keys, Clock clock, long maxFileBytes) {
        this(jdbi, blobs, keys, clock, maxFileBytes, ReadCache.SHARED_MAX_AGE);
    }

    /** @param cacheMaxAge how long a model read is taken as read ({@link ai.factory.storage.Database#readCacheMaxAge}) */
    public ModelRegistry(Jdbi jdbi, BlobStore blobs, KeyHierarchy keys, Clock clock, long maxFileBytes,
                         Duration cacheMaxAge) {
        this(jdbi, blobs, keys, clock, maxFileBytes, cacheMaxAge, ModelSignatures.off(jdbi, clock));
    }

    /** @param signatures the site's signature policy, applied at import and at load */
    public ModelRegistry(Jdbi jdbi, BlobStore blobs, KeyHierarchy keys, Clock clock, long maxFileBytes,
                         Duration cacheMaxAge, ModelSignatures signatures) {
        this.signatures = requireNonNull(signatures, "signatures is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.blobs = requireNonNull(blobs, "blobs is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.maxFileBytes = maxFileBytes;
        this.models = new ReadCache<>(clock, cacheMaxAge);
    }

    /**
     * One file to import: its name in the version, its content, the digest it must have (or null) and its size when
     * known beforehand (an upload's Content-Length, a file's size; -1 when not), so that content the disk can't hold
     * is refused before any of it is read.
     */
    public record Upload(String fileName, InputStream content, @Nullable String expectedSha256, long declaredBytes) {
        public Upload {
            requireNonNull(fileName, "fileName is null");
            requireNonNull(content, "content is null");
        }

        public Upload(String fileName, InputStream content, @Nullable String expectedSha256) {
            this(fileName, content, expectedSha256, -1);
        }
    }

    /**
     * Where a new version goes: the model's project when the model is new ({@code null}: the importer's own), and
     * its classification ({@code null}: unchanged, or {@link Model#DEFAULT_CLASSIFICATION} for a new model); and the
     * signature it comes with (a model-signing bundle's JSON), or null; and whether the site's key signs a version
     * that comes without one (what the factory made itself).
     */
    public record Placement(@Nullable String project, @Nullable String classification, byte @Nullable [] signature,
                            boolean siteSigns) {
        public static final Placement DEFAULT = new Placement(null, null);

        public Placement(@Nullable String project, @Nullable String classification) {
            this(project, classification, null, false);
        }

        public Placement(@Nullable String project, @Nullable String classification, byte @Nullable [] signature) {
            this(project, classification, signature, false);
        }

        /** This placement, with the signature the version comes with. */
        public Placement signed(byte @Nullable [] bundle) {
            return new Placement(project, classification, bundle, siteSigns);
        }

        /** This placement, signed with the site's key (when it has one) if it comes unsigned. */
        public Placement signedBySite() {
            return new Placement(project, classification, signature, true);
        }

        public Placement {
            if (classification != null) {
                checkClassification(classification);
            }
        }
    }

    /**
     * Imports one file that lies on the server's own disk, with the signature the placement carries, else the one
     * beside it ({@code FILE.sig}) when there is one.
     */
    public ModelVersion importPath(ModelName name, Path file, Optional<ModelFormat> format, Principal by) {
        return importPath(name, file, format, by, Placement.DEFAULT);
    }

    public ModelVersion importPath(ModelName name, Path file, Optional<ModelFormat> format, Principal by,
                                   Placement placement) {
        Path source = file.toAbsolutePath().normalize();
        if (!Files.isRegularFile(source)) {
            throw FactoryException.invalidParam("path", "no such file on the server: " + source);
        }
        if (placement.signature() == null) {
            // Where the model-signing tools leave a file's signature: picked up with it.
            Path beside = source.resolveSibling(source.getFileName() + ".sig");
            if (Files.isRegularFile(beside)) {
                try {
                    placement = placement.signed(Files.readAllBytes(beside));
                } catch (IOException e) {
                    throw FactoryException.invalidParam("signature", "cannot read the signature " + beside + ": "
                            + e.getMessage());
                }
            }
        }
        try (InputStream in = Files.newInputStream(source)) {
            String fileName = checkFileName(source.getFileName().toString());
            return importFiles(name, format, List.of(new Upload(fileName, in, null, Files.size(source))), Map.of(), by,
                    "file:" + source,
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
        if (isBuiltin(name) && !source.startsWith(BUNDLED_SOURCE)) {
            // The bundled models are the factory's own (and outside the signature policy): nobody else adds to them.
            throw FactoryException.invalidParam("model", "the namespace '" + BUILTIN_NAMESPACE + "' is reserved for the "
                    + "models bundled with the factory; use another namespace");
        }
        Optional<Model> existing = find(name);
        String project = existing.map(Model::project).orElseGet(() ->
                placement.project() == null ? by.project() : placement.project());
        String classification = placement.classification() != null ? placement.classification()
                : existing.map(Model::classification).orElse(Model.DEFAULT_CLASSIFICATION);
        String owner = keyOwner(project, name);
        keys.ensureKek(owner);
        List<StagedBlob> staged = new ArrayList<>();
        try {
            for (Upload u : uploads) {
                checkFileName(u.fileName());
                if (u.declaredBytes() >= 0) {
                    blobs.requireSpace(u.declaredBytes());
                }
                staged.add(blobs.stage(owner, u.content(), maxFileBytes));
            }
            PausePoints.reach("upload.staged", name.toString());
            // Before anything reads the files' content (the format's metadata), the signature must hold for them.
            List<ModelFile> stagedFiles = new ArrayList<>();
            for (int i = 0; i < staged.size(); i++) {
                stagedFiles.add(new ModelFile(uploads.get(i).fileName(), staged.get(i).sha256(), staged.get(i).size()));
            }
            ModelSignatures.Checked signature = signatures.checkImport(name, stagedFiles, placement.signature(),
                    placement.siteSigns(), signatures.scopeFor(project, classification), by);
            ModelFormat detected = detectFormat(staged.getFirst(), uploads.getFirst().fileName(), format);
            Map<String, Object> metadata = new LinkedHashMap<>(readMetadata(detected, staged.getFirst()));
            metadata.putAll(extraMetadata);
            List<ModelFile> files = new ArrayList<>();
            List<StagedBlob> placed = new ArrayList<>();
            List<ReentrantLock> held = new ArrayList<>();
            try {
                for (int i = 0; i < staged.size(); i++) {
                    StagedBlob s = staged.get(i);
                    String expected = uploads.get(i).expectedSha256();
                    held.add(lock(owner, s.sha256()));
                    BlobRef ref;
                    if (expected == null || expected.equals(s.sha256())) {
                        if (keys.hasDataKey(owner, s.sha256())) {
                            // Stored before under this owner's keys: keep that copy, drop this one.
                            ref = new BlobRef(s.sha256(), s.size());
                        } else {
                            ref = blobs.commit(s, expected);
                            placed.add(s);
                        }
                    } else {
                        ref = blobs.commit(s, expected); // refuses the mismatch, storing nothing
                    }
                    files.add(new ModelFile(uploads.get(i).fileName(), ref.sha256(), ref.size()));
                }
                PausePoints.reach("upload.placed", name.toString());
                try {
                    return insertVersion(name, detected, metadata, files, by, source, placement, owner, staged,
                            signature);
                } catch (RuntimeException e) {
                    // Files placed for this import whose key was never recorded can't be read: remove them.
                    for (StagedBlob p : placed) {
                        if (!keys.hasDataKey(owner, p.sha256())) {
                            blobs.delete(owner, p.sha256());
                        }
                    }
                    throw e;
                }
            } finally {
                held.forEach(ReentrantLock::unlock);
            }
        } finally {
            staged.forEach(StagedBlob::close);
        }
    }

    /**
     * Whose keys a model's blobs are encrypted under: the site's for the bundled models (they serve every project and
     * outlive any), else the model's project.
     */
    public static String keyOwner(String project, ModelName name) {
        return isBuiltin(name) ? BlobOwner.SITE : project;
    }

    /** Whether {@code name} is in the namespace of the models bundled with the factory, which only the factory imports. */
    public static boolean isBuiltin(ModelName name) {
        return name.namespace().equals(BUILTIN_NAMESPACE);
    }

    /**
     * Encrypts the plain-text blobs an install wrote before blobs were encrypted: each one every model that uses it
     * needs is encrypted under its owner's keys (once per owner), checked against its digest, recorded, and the plain
     * file deleted; plain files no model uses are deleted too. Returns how many blobs were encrypted. Run at start,
     * before anything reads blobs.
     */
    public int encryptLegacyBlobs() {
        List<String> legacy = blobs.legacyDigests();
        if (legacy.isEmpty()) {
            return 0;
        }
        int encrypted = 0;
        for (String sha256 : legacy) {
            List<String> owners = jdbi.withHandle(h -> h.createQuery("SELECT DISTINCT f.model_name, m.project "
                            + "FROM model_files f JOIN models m ON m.name = f.model_name WHERE f.sha256 = :s")
                    .bind("s", sha256)
                    .map((rs, ctx) -> keyOwner(rs.getString(2), ModelName.parse(rs.getString(1)))).list())
                    .stream().distinct().toList();
            for (String owner : owners) {
                if (keys.hasDataKey(owner, sha256)) {
                    continue;
                }
                keys.ensureKek(owner);
                ReentrantLock lock = lock(owner, sha256);
                try (InputStream in = java.nio.file.Files.newInputStream(blobs.legacyPath(sha256));
                        StagedBlob s = blobs.stage(owner, in, Long.MAX_VALUE)) {
                    BlobRef ref = blobs.commit(s, sha256);
                    jdbi.useTransaction(h -> keys.storeDataKey(h, owner, sha256, ref.size(), s.dataKey()));
                    encrypted++;
                } catch (IOException e) {
                    throw new FactoryException(ErrorCode.INTERNAL, "cannot encrypt legacy blob " + sha256 + ": " + e, e);
                } finally {
                    lock.unlock();
                }
            }
            blobs.deleteLegacy(sha256);
        }
        LoggerFactory.getLogger(ModelRegistry.class).info("encrypted {} blob(s) written in plain text before blobs "
                + "were encrypted; {} plain file(s) removed", encrypted, legacy.size());
        return encrypted;
    }

    /** The blob of every file of every version, under the keys of its owner, for the start-up sweep. */
    public Set<BlobSweep.Blob> referencedBlobs() {
        return jdbi.withHandle(h -> h.createQuery("SELECT DISTINCT f.sha256, f.model_name, m.project FROM model_files f "
                        + "JOIN models m ON m.name = f.model_name")
                .map((rs, ctx) -> new BlobSweep.Blob(keyOwner(rs.getString(3), ModelName.parse(rs.getString(2))),
                        rs.getString(1)))
                .set());
    }

    /** Every model with its versions, by name: two queries, whatever the number of models. */
    public List<Model> list() {
        return jdbi.withHandle(h -> read(h, null));
    }

    /** A model with its versions; from memory once read, until a write of this registry changes it. */
    public Optional<Model> find(ModelName name) {
        requireNonNull(name, "name is null");
        return models.get(name, n -> jdbi.withHandle(h -> read(h, n)).stream().findFirst());
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

    /**
     * A file of a version, decrypted as it is read: a seekable channel whose size is the plaintext's. The caller
     * closes it. A file whose blob fails authentication fails its read with a {@code BlobAuthenticationException}.
     */
    public SeekableByteChannel open(ModelVersion version, String fileName) {
        ModelFile file = version.file(fileName);
        String owner = keyOwner(ownerProject(version.model()), version.model());
        DataKey key = keys.dataKey(owner, file.sha256());
        return blobs.open(owner, file.sha256(), key);
    }

    /** A whole file of a version in memory (small files only: the bundled embedding model and its tokenizer). */
    public byte[] readAllBytes(ModelVersion version, String fileName) {
        try (InputStream in = Channels.newInputStream(open(version, fileName))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read " + fileName + " of " + version.ref() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The GGUF metadata of a version's model file, read through the decrypting channel. */
    public GgufMetadata ggufMetadata(ModelVersion version) throws IOException {
        try (SeekableByteChannel channel = open(version, version.files().getFirst().path())) {
            return GgufReader.read(channel, channel.size());
        }
    }

    /**
     * A file of a version as its blob: its owner in the store, plaintext digest and size, and the ciphertext file.
     *
     * @param ciphertext where the encrypted blob lies on this node's disk
     */
    public record FileBlob(String owner, String sha256, long bytes, Path ciphertext) {}

    /**
     * Refuses a version the site's signature policy does not let load ({@link ModelSignatures#checkLoad}): before
     * any engine reads its bytes, and before its data key goes to a worker.
     *
     * @throws FactoryException FORBIDDEN under {@code require} when its signature is missing or does not verify
     */
    public void checkLoadable(ModelVersion version) {
        Model model = get(version.model());
        signatures.checkLoad(version, model.project(), model.classification());
    }

    /** The site's signature policy and the signatures kept. */
    public ModelSignatures signatures() {
        return signatures;
    }

    /** The blob of a file of a version, to hand a cluster node the ciphertext (see {@link #releaseKey}). */
    public FileBlob fileBlob(ModelVersion version, String fileName) {
        ModelFile file = version.file(fileName);
        String owner = keyOwner(ownerProject(version.model()), version.model());
        return new FileBlob(owner, file.sha256(), file.size(), blobs.path(owner, file.sha256()));
    }

    /**
     * The data key of a file of a version, unwrapped: for a cluster node that runs a replica of it and holds the key in
     * memory only. The caller audits the release.
     */
    public DataKey releaseKey(ModelVersion version, String fileName) {
        checkLoadable(version);
        ModelFile file = version.file(fileName);
        return keys.dataKey(keyOwner(ownerProject(version.model()), version.model()), file.sha256());
    }

    /** Where a file of a version lies on this node's disk: ciphertext, for tests and tools that inspect it. */
    public Path blobPath(ModelVersion version, String fileName) {
        return blobs.path(keyOwner(ownerProject(version.model()), version.model()), version.file(fileName).sha256());
    }

    private String ownerProject(ModelName name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT project FROM models WHERE name = :n")
                .bind("n", name.toString()).mapTo(String.class).findOne())
                .orElseThrow(() -> notFound(name.toString()));
    }

    /** Sets a model's classification, the label site policies decide on. */
    public Model classify(ModelName name, String classification) {
        checkClassification(classification);
        int updated = jdbi.withHandle(h -> h.createUpdate("UPDATE models SET classification = :c WHERE name = :n")
                .bind("c", classification).bind("n", name.toString()).execute());
        models.invalidate(name);
        if (updated == 0) {
            throw notFound(name.toString());
        }
        return get(name);
    }

    /** Deletes one version, or every version when the reference names none. Refused while any is deployed. */
    public List<ModelVersion> delete(ModelRef ref) {
        // Read from the database, not memory: what is deleted is what is there now, whichever node added it.
        Model model = jdbi.withHandle(h -> read(h, ref.name())).stream().findFirst()
                .orElseThrow(() -> notFound(ref.name()));
        List<ModelVersion> doomed = ref.version().isEmpty() ? model.versions()
                : List.of(model.versions().stream().filter(v -> v.version() == ref.version().getAsInt()).findFirst()
                        .orElseThrow(() -> notFound(ref.toString())));
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
                ModelSignatures.delete(h, v.model(), v.version());
                h.createUpdate("DELETE FROM model_versions WHERE model_name = :n AND version = :v")
                        .bind("n", v.model().toString()).bind("v", v.version()).execute();
            }
            long left = h.createQuery("SELECT COUNT(*) FROM model_versions WHERE model_name = :n")
                    .bind("n", model.name().toString()).mapTo(Long.class).one();
            if (left == 0) {
                h.createUpdate("DELETE FROM models WHERE name = :n").bind("n", model.name().toString()).execute();
            }
        });
        models.invalidate(model.name());
        PausePoints.reach("model.deleted", model.name().toString());
        String owner = keyOwner(model.project(), model.name());
        doomed.stream().flatMap(v -> v.files().stream()).map(ModelFile::sha256).distinct()
                .forEach(sha256 -> deleteBlobIfUnreferenced(owner, sha256));
        return doomed;
    }

    /** Deletes the owner's blob and its data key when no version of the owner's models uses it any more. */
    private void deleteBlobIfUnreferenced(String owner, String sha256) {
        ReentrantLock lock = lock(owner, sha256);
        try {
            long refs = jdbi.withHandle(h -> h.createQuery("SELECT DISTINCT f.model_name, m.project FROM model_files f "
                            + "JOIN models m ON m.name = f.model_name WHERE f.sha256 = :s")
                    .bind("s", sha256)
                    .map((rs, ctx) -> keyOwner(rs.getString(2), ModelName.parse(rs.getString(1)))).list())
                    .stream().filter(owner::equals).count();
            if (refs == 0) {
                jdbi.useTransaction(h -> keys.deleteDataKey(h, owner, sha256));
                blobs.delete(owner, sha256);
            }
        } finally {
            lock.unlock();
        }
    }

    private ModelVersion insertVersion(ModelName name, ModelFormat format, Map<String, Object> metadata,
                                       List<ModelFile> files, Principal by, String source, Placement placement,
                                       String keyOwner, List<StagedBlob> staged, ModelSignatures.Checked signature) {
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
                    String project = owner.isPresent() ? owner.get()
                            : placement.project() == null ? by.project() : placement.project();
                    if (!keyOwner(project, name).equals(keyOwner)) {
                        throw new FactoryException(ErrorCode.CONFLICT, "model " + name + " was created in project '"
                                + project + "' while this import ran; import again");
                    }
                    for (StagedBlob s : staged) {
                        keys.storeDataKey(h, keyOwner, s.sha256(), s.size(), s.dataKey());
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
                    signatures.store(h, name, next, signature);
                    return next;
                });
                models.invalidate(name);
                return new ModelVersion(name, version, format, metadata, files, now, by.id(), source);
            } catch (UnableToExecuteStatementException e) {
                if (attempt >= 10 || !Sql.isUniqueViolation(e)) {
                    throw e;
                }
            }
        }
    }

    /**
     * The models (only {@code only}, when given) with their versions and files, in two queries: the models joined to
     * their versions, then the files.
     */
    private static List<Model> read(Handle h, @Nullable ModelName only) {
        String where = only == null ? "" : " WHERE model_name = :n";
        Map<String, Map<Integer, List<ModelFile>>> files = new LinkedHashMap<>();
        var fileQuery = h.createQuery("SELECT model_name, version, path, sha256, size_bytes FROM model_files" + where
                + " ORDER BY model_name, version, path");
        if (only != null) {
            fileQuery.bind("n", only.toString());
        }
        fileQuery.map((rs, ctx) -> {
            files.computeIfAbsent(rs.getString("model_name"), k -> new LinkedHashMap<>())
                    .computeIfAbsent(rs.getInt("version"), k -> new ArrayList<>())
                    .add(new ModelFile(rs.getString("path"), rs.getString("sha256"), rs.getLong("size_bytes")));
            return null;
        }).list();
        var rowQuery = h.createQuery("SELECT m.name, m.project, m.classification, m.created_at, m.created_by, "
                + "v.version, v.format, v.metadata, v.imported_at, v.imported_by, v.source FROM models m "
                + "LEFT JOIN model_versions v ON v.model_name = m.name"
                + (only == null ? "" : " WHERE m.name = :n") + " ORDER BY m.name, v.version");
        if (only != null) {
            rowQuery.bind("n", only.toString());
        }
        Map<ModelName, Model> models = new LinkedHashMap<>();
        Map<ModelName, List<ModelVersion>> versions = new LinkedHashMap<>();
        rowQuery.map((rs, ctx) -> {
            ModelName name = ModelName.parse(rs.getString("name"));
            if (!models.containsKey(name)) {
                models.put(name, new Model(name, rs.getString("project"), rs.getString("classification"),
                        rs.getTimestamp("created_at").toInstant(), rs.getString("created_by"), List.of()));
                versions.put(name, new ArrayList<>());
            }
            int version = rs.getInt("version");
            if (!rs.wasNull()) {
                versions.computeIfAbsent(name, n -> new ArrayList<>()).add(new ModelVersion(name, version, ModelFormat.parse(rs.getString("format")),
                        decode(rs.getString("metadata")),
                        files.getOrDefault(name.toString(), Map.of()).getOrDefault(version, List.of()),
                        rs.getTimestamp("imported_at").toInstant(), rs.getString("imported_by"), rs.getString("source")));
            }
            return null;
        }).list();
        return models.values().stream().map(m -> new Model(m.name(), m.project(), m.classification(), m.createdAt(),
                m.createdBy(), versions.getOrDefault(m.name(), List.of()))).toList();
    }

    private static Map<String, Object> decode(String json) {
        try {
            return Json.mapper().readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "stored model metadata is not JSON", e);
        }
    }

    private static ModelFormat detectFormat(StagedBlob file, String fileName, Optional<ModelFormat> hint) {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Channels.newInputStream(file.open())) {
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

    private static Map<String, Object> readMetadata(ModelFormat format, StagedBlob file) {
        return switch (format) {
            case GGUF -> {
                try (SeekableByteChannel channel = file.open()) {
                    yield GgufReader.read(channel, channel.size()).summary();
                } catch (IOException e) {
                    throw new FactoryException(ErrorCode.INTERNAL, "cannot read staged file: " + e.getMessage(), e);
                }
            }
            case ONNX -> Map.of();
        };
    }

    /** The classification if it is one a model or dataset may carry; INVALID_REQUEST otherwise. */
    public static String checkClassification(String classification) {
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

    private ReentrantLock lock(String owner, String sha256) {
        ReentrantLock lock = digestLocks.computeIfAbsent(owner + "/" + sha256, k -> new ReentrantLock());
        lock.lock();
        return lock;
    }

    /** What a lookup of a model that is not registered answers (and what one of another project answers too). */
    public static FactoryException notFound(ModelName name) {
        return notFound(name.toString());
    }

    private static FactoryException notFound(String what) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no model '" + what + "' in the registry");
    }
}
