package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.identity.Principal;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.stream.Stream;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Model import jobs: a GGUF file under the configured import root becomes the registry model
 * {@code imported/NAME} and is deployed with default settings, on a virtual thread. What can be checked up front
 * (the source, the names) is refused at once; what only the import or the load finds makes the job fail with
 * the reason. Jobs are kept in the database; one a restart interrupted is marked failed at start.
 */
public final class ModelImports {
    /** The registry namespace imported models live in. */
    public static final String NAMESPACE = "imported";

    private static final Logger LOG = LoggerFactory.getLogger(ModelImports.class);
    private static final Duration LOAD_TIMEOUT = Duration.ofMinutes(30);
    private static final String SELECT = "SELECT id, job_name, imported_model_name, source_uri, status, failure_message, "
            + "created_at, modified_at, ended_at, created_by FROM model_import_jobs";

    private final Jdbi jdbi;
    private final ModelRegistry registry;
    private final Deployments deployments;
    private final Optional<Path> importRoot;
    private final Clock clock;
    private final String runner;

    /** {@code runner}: this process's id among the factory's processes, recorded with each job it runs. */
    public ModelImports(Jdbi jdbi, ModelRegistry registry, Deployments deployments, Optional<Path> importRoot,
                        Clock clock, String runner) {
        this.runner = requireNonNull(runner, "runner is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.importRoot = requireNonNull(importRoot, "importRoot is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * Marks as failed the jobs left in progress by a process that is gone (one that stopped or died, its id not in
     * {@code live}): nothing is working on them any more. Jobs of live processes, this one's among them, run on.
     */
    public void restore(java.util.Set<String> live) {
        Instant now = clock.instant();
        java.util.Set<String> running = new java.util.HashSet<>(live);
        running.add(runner);
        int n = jdbi.withHandle(h -> h.createUpdate("UPDATE model_import_jobs SET status = :f, failure_message = :m, "
                        + "modified_at = :t, ended_at = :t WHERE status = :p AND (runner IS NULL OR runner NOT IN (<live>))")
                .bind("f", ModelImportJob.Status.FAILED.name()).bind("p", ModelImportJob.Status.IN_PROGRESS.name())
                .bind("m", "the factory process that ran the job stopped while it ran; create the job again")
                .bindList("live", List.copyOf(running))
                .bind("t", Timestamp.from(now)).execute());
        if (n > 0) {
            LOG.warn("{} model import job(s) interrupted by a restart marked failed", n);
        }
    }

    /** Checks the request, records the job and starts it; returns the job as recorded (in progress). */
    public ModelImportJob create(String jobName, String importedModelName, String sourceUri, Principal by) {
        ModelName model = new ModelName(NAMESPACE, importedModelName);
        Path file = resolveSource(sourceUri);
        if (registry.find(model).isPresent()) {
            throw nameTaken(importedModelName);
        }
        Instant now = clock.instant();
        ModelImportJob job = new ModelImportJob(UUID.randomUUID().toString().replace("-", "").substring(0, 12), jobName,
                model, sourceUri, ModelImportJob.Status.IN_PROGRESS, null, now, now, Optional.empty(), by.id());
        synchronized (this) {
            // Names are checked and claimed together so two jobs can't both import the same model.
            boolean taken = jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM model_import_jobs "
                            + "WHERE job_name = :j OR (imported_model_name = :m AND status = :p)")
                    .bind("j", jobName).bind("m", model.toString()).bind("p", ModelImportJob.Status.IN_PROGRESS.name())
                    .mapTo(Long.class).one()) > 0;
            if (taken) {
                throw new FactoryException(ErrorCode.CONFLICT, "a model import job named '" + jobName
                        + "' (or one importing '" + importedModelName + "') exists already; choose another name");
            }
            insert(job);
        }
        LOG.info("model import job {} ({}) started: {} from {}", job.id(), jobName, model, file);
        Thread.ofVirtual().name("model-import-" + job.id()).start(() -> run(job, file, by));
        return job;
    }

    private void run(ModelImportJob job, Path file, Principal by) {
        try {
            registry.importPath(job.model(), file, Optional.of(ModelFormat.GGUF), by);
            Deployment d = deployments.deploy(new ModelRef(job.model(), OptionalInt.empty()), DeploymentSpec.DEFAULT, by);
            Deployment settled = deployments.awaitSettled(d.id(), LOAD_TIMEOUT);
            switch (settled.state()) {
                case DeploymentState.Ready r -> finish(job, ModelImportJob.Status.COMPLETED, null);
                case DeploymentState.Failed f -> finish(job, ModelImportJob.Status.FAILED,
                        "the model was imported but failed to load: " + f.reason());
                case DeploymentState.Pending p -> finish(job, ModelImportJob.Status.FAILED,
                        "the model did not load within " + LOAD_TIMEOUT.toMinutes() + " minutes");
                case DeploymentState.Loading l -> finish(job, ModelImportJob.Status.FAILED,
                        "the model did not load within " + LOAD_TIMEOUT.toMinutes() + " minutes");
                case DeploymentState.Draining x -> finish(job, ModelImportJob.Status.FAILED,
                        "the model's deployment " + settled.id() + " was deleted before it loaded");
            }
        } catch (RuntimeException e) {
            // Whatever stopped the job is its failure message; the job must not stay in progress.
            finish(job, ModelImportJob.Status.FAILED, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            finish(job, ModelImportJob.Status.FAILED, "interrupted while waiting for the model to load");
        }
    }

    private void finish(ModelImportJob job, ModelImportJob.Status status, @Nullable String failure) {
        Instant now = clock.instant();
        jdbi.useHandle(h -> h.createUpdate("UPDATE model_import_jobs SET status = :s, failure_message = :m, "
                        + "modified_at = :t, ended_at = :t WHERE id = :id")
                .bind("s", status.name()).bind("m", failure).bind("t", Timestamp.from(now)).bind("id", job.id())
                .execute());
        LOG.atLevel(status == ModelImportJob.Status.COMPLETED ? Level.INFO : Level.WARN)
                .log("model import job {} {}{}", job.id(), status.name().toLowerCase(Locale.ROOT),
                        failure == null ? "" : ": " + failure);
    }

    /**
     * The file a source URI names: {@code file:///abs/model.gguf}, or a folder holding exactly one {@code .gguf},
     * inside the import root.
     */
    Path resolveSource(String sourceUri) {
        URI uri;
        try {
            uri = URI.create(sourceUri);
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam("s3Uri", "the model source '" + sourceUri + "' is not a valid URI");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("s3")) {
            throw FactoryException.invalidParam("s3Uri", "S3 sources need an S3-compatible store configured; "
                    + "none is, so give a file:///path under the import root instead");
        }
        if (!scheme.equals("file") || uri.getPath() == null) {
            throw FactoryException.invalidParam("s3Uri", "the model source '" + sourceUri
                    + "' is neither s3:// nor file:///absolute/path");
        }
        Path root = importRoot.orElseThrow(() -> FactoryException.invalidParam("s3Uri",
                "importing from the server's disk is off; set models.importRoot (FACTORY_IMPORT_ROOT) to the folder "
                        + "model files may be imported from"));
        Path path = Path.of(uri.getPath()).toAbsolutePath().normalize();
        try {
            Path real = path.toRealPath();
            if (!real.startsWith(root.toRealPath())) {
                throw outsideRoot(path, root);
            }
            if (Files.isDirectory(real)) {
                List<Path> ggufs;
                try (Stream<Path> files = Files.list(real)) {
                    ggufs = files.filter(f -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf"))
                            .filter(Files::isRegularFile).toList();
                }
                if (ggufs.size() != 1) {
                    throw FactoryException.invalidParam("s3Uri", "the folder " + path + " holds " + ggufs.size()
                            + " .gguf files; it must hold exactly one, or name the file itself");
                }
                return ggufs.getFirst();
            }
            if (!real.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                throw FactoryException.invalidParam("s3Uri", "only GGUF models can be imported; " + path
                        + " is not a .gguf file");
            }
            return real;
        } catch (java.nio.file.NoSuchFileException e) {
            if (!path.startsWith(root)) {
                throw outsideRoot(path, root);
            }
            throw FactoryException.invalidParam("s3Uri", "no such file or folder on the server: " + path);
        } catch (IOException e) {
            throw FactoryException.invalidParam("s3Uri", "cannot read " + path + ": " + e.getMessage());
        }
    }

    private static FactoryException outsideRoot(Path path, Path root) {
        return FactoryException.invalidParam("s3Uri", path + " is outside the import root " + root
                + "; only files under it can be imported");
    }

    public ModelImportJob get(String id) {
        return jdbi.withHandle(h -> h.createQuery(SELECT + " WHERE id = :id").bind("id", id)
                        .map((rs, ctx) -> row(rs)).findOne())
                .orElseThrow(() -> notFound(id));
    }

    /**
     * What a job for an imported model name that is taken answers, whichever project's model holds it (names are the
     * site's; saying whose would tell another project's models to the caller).
     */
    public static FactoryException nameTaken(String importedModelName) {
        return new FactoryException(ErrorCode.CONFLICT, "an imported model named '" + importedModelName
                + "' exists already; choose another importedModelName (or delete that model first, if it is yours)");
    }

    /** What {@link #get} answers for a job that does not exist. */
    public static FactoryException notFound(String id) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no model import job '" + id + "'");
    }

    /** Newest first. */
    public List<ModelImportJob> list() {
        return jdbi.withHandle(h -> h.createQuery(SELECT + " ORDER BY created_at DESC, id")
                .map((rs, ctx) -> row(rs)).list());
    }

    /** The last job that imported a model, if one did. */
    public Optional<ModelImportJob> lastFor(ModelName model) {
        return list().stream().filter(j -> j.model().equals(model)).findFirst();
    }

    /** Deletes an imported model: its deployment first, then the model from the registry. */
    public void deleteModel(ModelName model) {
        registry.get(model);
        deployments.list().stream().filter(d -> d.model().equals(model))
                .forEach(d -> deployments.delete(d.id()));
        registry.delete(new ModelRef(model, OptionalInt.empty()));
        LOG.info("imported model {} deleted", model);
    }

    private void insert(ModelImportJob j) {
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO model_import_jobs (id, job_name, imported_model_name, "
                        + "source_uri, status, failure_message, created_at, modified_at, ended_at, created_by, runner) "
                        + "VALUES (:id, :j, :m, :u, :s, NULL, :c, :c, NULL, :by, :runner)").bind("runner", runner)
                .bind("id", j.id()).bind("j", j.jobName()).bind("m", j.model().toString()).bind("u", j.sourceUri())
                .bind("s", j.status().name()).bind("c", Timestamp.from(j.createdAt())).bind("by", j.createdBy())
                .execute());
    }

    private static ModelImportJob row(ResultSet rs) throws SQLException {
        Timestamp ended = rs.getTimestamp("ended_at");
        return new ModelImportJob(rs.getString("id"), rs.getString("job_name"),
                ModelName.parse(rs.getString("imported_model_name")), rs.getString("source_uri"),
                ModelImportJob.Status.valueOf(rs.getString("status")), rs.getString("failure_message"),
                rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("modified_at").toInstant(),
                Optional.ofNullable(ended).map(Timestamp::toInstant), rs.getString("created_by"));
    }
}
