package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.identity.Principal;
import ai.factory.models.Model;
import ai.factory.models.ModelRegistry;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.DataKey;
import ai.factory.storage.Sql;
import ai.factory.storage.StagedBlob;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fine-tuning datasets of the site's projects, stored as model files are: encrypted under the project's keys in
 * the content-addressed blob store, the digest that of the plaintext.
 *
 * <p>An upload is all or nothing: the bytes stream into a staged blob (encrypted on the way, refused past
 * {@link DatasetLimits#maxDatasetBytes}), every record is checked ({@link DatasetParser}), and only a dataset without
 * an error is committed, its row and its wrapped data key in one transaction. A refused upload leaves no row and no
 * blob. Datasets of one project with the same content share one blob; a per-blob lock orders "blob committed → row
 * inserted" against "row deleted → unreferenced blob removed", as the model registry does.
 */
public final class Datasets {
    private static final Logger LOG = LoggerFactory.getLogger(Datasets.class);
    private static final String COLUMNS = "id, name, project, format, record_count, size_bytes, sha256, classification, "
            + "created_at, created_by";

    private final Jdbi jdbi;
    private final BlobStore blobs;
    private final KeyHierarchy keys;
    private final Clock clock;
    private final DatasetLimits limits;
    private final Map<String, ReentrantLock> blobLocks = new ConcurrentHashMap<>();

    public Datasets(Jdbi jdbi, BlobStore blobs, KeyHierarchy keys, Clock clock, DatasetLimits limits) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.blobs = requireNonNull(blobs, "blobs is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.limits = requireNonNull(limits, "limits is null");
    }

    public DatasetLimits limits() {
        return limits;
    }

    /**
     * Where a new dataset goes: its project ({@code null}: the uploader's) and its classification ({@code null}:
     * {@link Model#DEFAULT_CLASSIFICATION}).
     */
    public record Placement(@Nullable String project, @Nullable String classification) {
        public static final Placement DEFAULT = new Placement(null, null);

        public Placement {
            if (classification != null) {
                ModelRegistry.checkClassification(classification);
            }
        }
    }

    /**
     * Checks what can be refused before any byte of an upload is read: the name is free, and the declared size
     * ({@code -1}: unknown) is within the limit and fits the disk.
     */
    public void checkUpload(DatasetName name, long declaredBytes) {
        if (find(name).isPresent()) {
            throw nameTaken(name);
        }
        if (declaredBytes > limits.maxDatasetBytes()) {
            throw tooLarge();
        }
        if (declaredBytes >= 0) {
            blobs.requireSpace(declaredBytes);
        }
    }

    /**
     * Stores a dataset streamed from {@code content} (not closed here), once every record of it is valid.
     *
     * @throws FactoryException INVALID_REQUEST listing the errors with their lines; PAYLOAD_TOO_LARGE past the
     *     limits; CONFLICT when the name is taken
     */
    public Dataset upload(DatasetName name, InputStream content, long declaredBytes, Placement placement,
                          Principal by) {
        requireNonNull(name, "name is null");
        requireNonNull(content, "content is null");
        requireNonNull(placement, "placement is null");
        requireNonNull(by, "by is null");
        checkUpload(name, declaredBytes);
        String project = placement.project() == null ? by.project() : placement.project();
        keys.ensureKek(project);
        StagedBlob staged;
        try {
            staged = blobs.stage(project, content, limits.maxDatasetBytes());
        } catch (FactoryException e) {
            throw e.code() == ErrorCode.PAYLOAD_TOO_LARGE ? tooLarge() : e;
        }
        try (staged) {
            DatasetParser.Result result;
            try (InputStream in = Channels.newInputStream(staged.open())) {
                result = DatasetParser.parse(in, limits, example -> {});
            } catch (IOException e) {
                throw new FactoryException(ErrorCode.INTERNAL, "cannot read the staged dataset: " + e.getMessage(), e);
            }
            DatasetParser.Result.Valid valid = switch (result) {
                case DatasetParser.Result.Invalid invalid -> throw FactoryException.invalidParam("dataset",
                        "dataset " + name + " is not valid training data: " + invalid.message());
                case DatasetParser.Result.Valid v -> v;
            };
            Dataset dataset = new Dataset("ds-" + UUID.randomUUID().toString().replace("-", ""), name, project,
                    valid.format(), valid.records(), staged.size(), staged.sha256(),
                    placement.classification() == null ? Model.DEFAULT_CLASSIFICATION : placement.classification(),
                    clock.instant().truncatedTo(ChronoUnit.MICROS), by.id()); // as the databases keep it
            ReentrantLock lock = lock(project, staged.sha256());
            try {
                boolean placed = false;
                if (!keys.hasDataKey(project, staged.sha256())) {
                    blobs.commit(staged, staged.sha256());
                    placed = true;
                }
                try {
                    insert(dataset, staged.dataKey());
                } catch (RuntimeException e) {
                    // A blob placed for this upload whose key was never recorded can't be read: remove it.
                    if (placed && !keys.hasDataKey(project, staged.sha256())) {
                        blobs.delete(project, staged.sha256());
                    }
                    throw e;
                }
            } finally {
                lock.unlock();
            }
            LOG.info("dataset {} ({}, {} records, {} bytes, sha256 {}) uploaded to project {} by {}", name,
                    dataset.format().id(), dataset.records(), dataset.sizeBytes(), dataset.sha256(), project, by.id());
            return dataset;
        }
    }

    private void insert(Dataset d, DataKey key) {
        try {
            jdbi.useTransaction(h -> {
                keys.storeDataKey(h, d.project(), d.sha256(), d.sizeBytes(), key);
                h.createUpdate("INSERT INTO datasets (" + COLUMNS + ") VALUES (:id, :name, :project, :format, "
                                + ":records, :size, :sha256, :classification, :at, :by)")
                        .bind("id", d.id()).bind("name", d.name().toString()).bind("project", d.project())
                        .bind("format", d.format().id()).bind("records", d.records()).bind("size", d.sizeBytes())
                        .bind("sha256", d.sha256()).bind("classification", d.classification())
                        .bind("at", Timestamp.from(d.createdAt())).bind("by", d.createdBy()).execute();
            });
        } catch (UnableToExecuteStatementException e) {
            if (Sql.isUniqueViolation(e)) {
                throw nameTaken(d.name());
            }
            throw e;
        }
    }

    /** Every dataset, by name. */
    public List<Dataset> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM datasets ORDER BY name")
                .map((rs, ctx) -> dataset(rs)).list());
    }

    public Optional<Dataset> find(DatasetName name) {
        requireNonNull(name, "name is null");
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM datasets WHERE name = :n")
                .bind("n", name.toString()).map((rs, ctx) -> dataset(rs)).findOne());
    }

    public Dataset get(DatasetName name) {
        return find(name).orElseThrow(() -> notFound(name));
    }

    /**
     * The examples of the dataset {@code ref} names, read back and decrypted, in the order of its lines.
     *
     * @throws FactoryException NOT_FOUND when no dataset has the name; CONFLICT when the dataset of that name holds
     *     other content than the digest names (it was deleted and uploaded again)
     */
    public List<TrainingExample> examples(DatasetRef ref) {
        Dataset dataset = get(ref.name());
        if (!dataset.sha256().equals(ref.sha256())) {
            throw new FactoryException(ErrorCode.CONFLICT, "dataset " + ref.name() + " now holds other content (sha256 "
                    + dataset.sha256() + ") than the job was given (sha256 " + ref.sha256() + ")");
        }
        List<TrainingExample> examples = new ArrayList<>(dataset.records());
        DatasetParser.Result result;
        try (InputStream in = blobs.plaintext(dataset.project(), dataset.sha256(),
                keys.dataKey(dataset.project(), dataset.sha256()))) {
            result = DatasetParser.parse(in, storedLimits(dataset), examples::add);
        } catch (IOException | UncheckedIOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot read dataset " + ref + ": " + e.getMessage(), e);
        }
        if (!(result instanceof DatasetParser.Result.Valid)) {
            throw new FactoryException(ErrorCode.INTERNAL, "stored dataset " + ref + " no longer reads as valid: "
                    + ((DatasetParser.Result.Invalid) result).message());
        }
        return examples;
    }

    /** Limits a stored dataset is read back under: this factory's, never less than what the dataset holds. */
    private DatasetLimits storedLimits(Dataset d) {
        return new DatasetLimits(limits.maxRecordBytes(), Math.max(limits.maxDatasetBytes(), d.sizeBytes()),
                Math.max(limits.maxRecords(), d.records()));
    }

    /** Where a dataset's blob lies on this node's disk: ciphertext, for tests and tools that inspect it. */
    public Path blobPath(Dataset dataset) {
        return blobs.path(dataset.project(), dataset.sha256());
    }

    /** Deletes a dataset; its blob and data key go too unless another dataset of the project holds the same content. */
    public Dataset delete(DatasetName name) {
        Dataset dataset = get(name);
        int deleted = jdbi.withHandle(h -> h.createUpdate("DELETE FROM datasets WHERE id = :id")
                .bind("id", dataset.id()).execute());
        if (deleted == 0) {
            throw notFound(name);
        }
        deleteBlobIfUnreferenced(dataset.project(), dataset.sha256());
        LOG.info("dataset {} of project {} deleted", name, dataset.project());
        return dataset;
    }

    /**
     * Removes the rows of a project's datasets as the project is deleted; its keys and blob folder are destroyed by
     * the shredding that follows. Idempotent.
     */
    public int projectDeleted(String project) {
        int deleted = jdbi.withHandle(h -> h.createUpdate("DELETE FROM datasets WHERE project = :p")
                .bind("p", project).execute());
        if (deleted > 0) {
            LOG.info("{} dataset(s) of project {} deleted with it", deleted, project);
        }
        return deleted;
    }

    /** The blob of every dataset, under its project's keys, for the start-up sweep. */
    public Set<BlobSweep.Blob> referencedBlobs() {
        return jdbi.withHandle(h -> h.createQuery("SELECT DISTINCT project, sha256 FROM datasets")
                .map((rs, ctx) -> new BlobSweep.Blob(rs.getString(1), rs.getString(2))).set());
    }

    /**
     * Deletes the project's blob and its data key when no dataset of the project holds it, nor a model file of the
     * project (blobs are addressed by owner and content alone).
     */
    private void deleteBlobIfUnreferenced(String project, String sha256) {
        ReentrantLock lock = lock(project, sha256);
        try {
            long refs = jdbi.withHandle(h -> h.createQuery("SELECT (SELECT COUNT(*) FROM datasets WHERE project = :p "
                            + "AND sha256 = :s) + (SELECT COUNT(*) FROM model_files f JOIN models m "
                            + "ON m.name = f.model_name WHERE m.project = :p AND f.sha256 = :s)")
                    .bind("p", project).bind("s", sha256).mapTo(Long.class).one());
            if (refs == 0) {
                jdbi.useTransaction(h -> keys.deleteDataKey(h, project, sha256));
                blobs.delete(project, sha256);
            }
        } finally {
            lock.unlock();
        }
    }

    private ReentrantLock lock(String project, String sha256) {
        ReentrantLock lock = blobLocks.computeIfAbsent(project + "/" + sha256, k -> new ReentrantLock());
        lock.lock();
        return lock;
    }

    private static Dataset dataset(ResultSet rs) throws SQLException {
        Instant created = rs.getTimestamp("created_at").toInstant();
        return new Dataset(rs.getString("id"), DatasetName.parse(rs.getString("name")), rs.getString("project"),
                DatasetFormat.parse(rs.getString("format")), rs.getInt("record_count"), rs.getLong("size_bytes"),
                rs.getString("sha256"), rs.getString("classification"), created, rs.getString("created_by"));
    }

    private FactoryException tooLarge() {
        return FactoryException.about(ErrorCode.PAYLOAD_TOO_LARGE, "dataset", "the dataset is larger than "
                + limits.maxDatasetBytes() + " bytes, the most one may hold");
    }

    /** Dataset names are the site's: one another project holds answers only that it is taken. */
    public static FactoryException nameTaken(DatasetName name) {
        return FactoryException.about(ErrorCode.CONFLICT, "dataset", "the dataset name '" + name + "' is taken; "
                + "upload under another name, or delete that dataset first");
    }

    /** What a lookup of a dataset that does not exist answers (and what one of another project answers too). */
    public static FactoryException notFound(DatasetName name) {
        return FactoryException.about(ErrorCode.NOT_FOUND, "dataset", "no dataset '" + name + "'");
    }
}
