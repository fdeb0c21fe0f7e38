package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.PausePoints;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.engine.llama.LlamaTrainer;
import ai.factory.engine.training.TrainedTensors;
import ai.factory.engine.training.TrainingListener;
import ai.factory.engine.training.TrainingOptions;
import ai.factory.fleet.HostMemory;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.MemoryFile;
import ai.factory.storage.Sql;
import ai.factory.storage.StagedBlob;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Fine-tuning jobs: created, queued, run one at a time in this process on the engine's trainer, checkpointed, resumed
 * after a restart, cancelled, and registered as a new model version with its lineage when they complete.
 *
 * <p>A job pins what it trains on when it is created: the base model's version and weights digest, and each
 * dataset's digest. Plaintext never reaches the disk: the base weights, their F32 conversion, checkpoints and the
 * result live in anonymous memory files ({@link MemoryFile}); checkpoints and the result are stored encrypted under
 * the project's keys like any model file.
 *
 * <p>Training runs below serving: one job at a time, on {@code threads} CPU threads. AdamW's moment estimates are not
 * part of a checkpoint, so a resumed job restarts them from zero; its step count and learning-rate schedule carry on.
 */
public final class TrainingJobs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingJobs.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern JOB_NAME = Pattern.compile("[a-zA-Z0-9](-*[a-zA-Z0-9+\\-.])*");
    private static final String COLUMNS = "id, job_name, project, base_model, base_version, base_sha256, "
            + "training_dataset, training_sha256, validation_dataset, validation_sha256, hyperparameters, output_model, "
            + "status, failure_message, steps_done, total_steps, epochs_done, training_loss, validation_loss, "
            + "checkpoint_step, output_version, created_at, started_at, ended_at, created_by";
    /** Audit actions for what a job does on its own, after the call that created it. */
    public static final String AUDIT_STARTED = "training.started";
    public static final String AUDIT_CHECKPOINT = "training.checkpoint";
    public static final String AUDIT_ENDED = "training.ended";
    public static final String AUDIT_PAUSED = "training.paused";

    private final Jdbi jdbi;
    private final ModelRegistry registry;
    private final Datasets datasets;
    private final BlobStore blobs;
    private final KeyHierarchy keys;
    private final Supplier<LlamaRuntime> llama;
    private final int threads;
    /** The nice value training runs at: serving's threads (at 0) get the CPUs first. */
    private final int niceness;
    private final Consumer<AuditEvent> audit;
    private final HostMemory memory;
    private final Clock clock;
    /** What the running job last reported, for {@code /metrics}. */
    private final AtomicReference<double[]> gauges = new AtomicReference<>(new double[] {0, 0, Double.NaN, 0});
    private final Object queue = new Object();
    private final List<Consumer<TrainingJob>> endListeners = new CopyOnWriteArrayList<>();
    private final Thread worker;
    private final boolean h2;
    private volatile boolean closing;
    /** The job the worker runs and whether it was asked to stop; guarded by {@link #queue}. */
    private @Nullable String running;
    private boolean stopRunning;
    /** Who asked the running job to give its memory back (a deployment), if anyone; guarded by {@link #queue}. */
    private @Nullable String pauseFor;
    private @Nullable String waitingForMemory;

    /**
     * What a caller asks for.
     *
     * @param name the job's name, unique on the site (null: one is made up)
     * @param base the model to start from (its latest version when none is named)
     * @param validation the dataset that measures validation loss, if any
     * @param output the model the result is registered as (a new model, or a new version of one in the project)
     */
    public record Request(@Nullable String name, String project, ModelRef base, DatasetName training,
                          Optional<DatasetName> validation, Hyperparameters hyperparameters, ModelName output) {
        public Request {
            requireNonNull(project, "project is null");
            requireNonNull(base, "base is null");
            requireNonNull(training, "training is null");
            requireNonNull(validation, "validation is null");
            requireNonNull(hyperparameters, "hyperparameters is null");
            requireNonNull(output, "output is null");
        }
    }

    public TrainingJobs(Jdbi jdbi, ModelRegistry registry, Datasets datasets, BlobStore blobs, KeyHierarchy keys,
                        Supplier<LlamaRuntime> llama, int threads, int niceness, Consumer<AuditEvent> audit,
                        HostMemory memory, MeterRegistry metrics, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.datasets = requireNonNull(datasets, "datasets is null");
        this.blobs = requireNonNull(blobs, "blobs is null");
        this.keys = requireNonNull(keys, "keys is null");
        this.llama = requireNonNull(llama, "llama is null");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be positive: " + threads);
        }
        this.threads = threads;
        this.niceness = niceness;
        this.audit = requireNonNull(audit, "audit is null");
        this.memory = requireNonNull(memory, "memory is null");
        this.clock = requireNonNull(clock, "clock is null");
        Gauge.builder("factory.training.steps.done", gauges, g -> g.get()[0])
                .description("Optimizer steps the running fine-tuning job has done (0 when none runs)").register(metrics);
        Gauge.builder("factory.training.steps.total", gauges, g -> g.get()[1])
                .description("Optimizer steps the running fine-tuning job will do").register(metrics);
        Gauge.builder("factory.training.loss", gauges, g -> g.get()[2])
                .description("The running fine-tuning job's last step loss (cross-entropy per token)").register(metrics);
        Gauge.builder("factory.training.tokens.per.second", gauges, g -> g.get()[3])
                .description("The running fine-tuning job's last step throughput").baseUnit("tokens").register(metrics);
        for (TrainingJob.Status status : TrainingJob.Status.values()) {
            Gauge.builder("factory.training.jobs", this, jobs -> jobs.count(status))
                    .description("Fine-tuning jobs by status").tag("status", status.name().toLowerCase(Locale.ROOT))
                    .register(metrics);
        }
        this.worker = Thread.ofPlatform().name("training-jobs").daemon(true).unstarted(this::work);
        this.h2 = Sql.isH2(jdbi);
        memory.yieldingWork(new Yielding());
        memory.onRelease(() -> {
            synchronized (queue) {
                queue.notifyAll();
            }
        });
    }

    /** Serving takes a running job's memory: the job checkpoints, gives its memory back and waits in the queue. */
    private final class Yielding implements HostMemory.Yielder {
        @Override
        public long yieldableBytes() {
            synchronized (queue) {
                return running == null || stopRunning || pauseFor != null ? 0 : memory.held(owner(running));
            }
        }

        @Override
        public boolean yieldMemory(String to, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (queue) {
                String job = running;
                if (job == null) {
                    return true;
                }
                pauseFor = to;
                LOG.info("training job {} gives its memory to {}: it stops after its current step", job, to);
                while (job.equals(running)) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    queue.wait(Math.max(1, left / 1_000_000));
                }
                return true;
            }
        }
    }

    private static String owner(String jobId) {
        return HostMemory.trainingJob(jobId);
    }

    /**
     * Has {@code listener} told of every job the worker ends (completed, failed, or stopped while it ran; a queued job
     * that is cancelled never reaches the worker), as recorded then, on the worker's thread; what it throws is logged
     * and does not change the job.
     */
    public void onEnded(Consumer<TrainingJob> listener) {
        endListeners.add(requireNonNull(listener, "listener is null"));
    }

    /**
     * Starts the worker. Jobs a previous run left in progress are taken up again first, from their last checkpoint;
     * jobs it was stopping are stopped.
     */
    public void start() {
        Instant now = clock.instant();
        jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET status = :stopped, ended_at = :t "
                        + "WHERE status = :stopping")
                .bind("stopped", TrainingJob.Status.STOPPED.name()).bind("stopping", TrainingJob.Status.STOPPING.name())
                .bind("t", Timestamp.from(now)).execute());
        worker.start();
    }

    /** Checks the request, records the job as queued and wakes the worker; returns the job as recorded. */
    public TrainingJob create(Request request, Principal by) {
        requireNonNull(request, "request is null");
        requireNonNull(by, "by is null");
        String name = request.name() == null ? "tune-" + UUID.randomUUID().toString().substring(0, 8) : request.name();
        if (name.length() > 63 || !JOB_NAME.matcher(name).matches()) {
            throw FactoryException.invalidParam("jobName", "a job name is 1-63 letters, digits, '-', '+' or '.', "
                    + "starting with a letter or digit: '" + name + "'");
        }
        if (ModelRegistry.isBuiltin(request.output())) {
            throw FactoryException.invalidParam("outputModelName", "the namespace of '" + request.output() + "' is "
                    + "reserved for the models bundled with the factory; name the output in another");
        }
        ModelVersion base = registry.resolve(request.base());
        registry.checkLoadable(base);
        String outputClass = registry.find(request.output()).map(ai.factory.models.Model::classification)
                .orElse(registry.get(base.model()).classification());
        if (!registry.signatures().registersOwnOutputs(request.project(), outputClass)) {
            throw new FactoryException(ErrorCode.FORBIDDEN, "the output's signature policy is require and the site has no "
                    + "signing key (models.signingKey) to sign what it makes: a fine-tuned model could not be "
                    + "registered; give the site a signing key, or fine-tune under warn and sign the output");
        }
        if (base.format() != ModelFormat.GGUF) {
            throw FactoryException.invalidParam("baseModelIdentifier", "model " + base.ref() + " is " + base.format()
                    + "; only GGUF models can be fine-tuned");
        }
        if (!registry.get(base.model()).project().equals(request.project())
                && !ModelRegistry.isBuiltin(base.model())) {
            throw new FactoryException(ErrorCode.NOT_FOUND, "model " + base.model() + " does not exist");
        }
        DatasetRef training = reference(request.training(), request.project(), "trainingDataConfig");
        Optional<DatasetRef> validation = request.validation().map(v -> reference(v, request.project(),
                "validationDataConfig"));
        registry.find(request.output()).ifPresent(existing -> {
            if (!existing.project().equals(request.project())) {
                throw new FactoryException(ErrorCode.CONFLICT, "model " + request.output()
                        + " belongs to another project; choose another name for the custom model");
            }
        });
        checkLayers(base, request.hyperparameters());
        GraphBudget.require(base, request.hyperparameters());
        TrainingMemory.estimate(base, request.hyperparameters()).requireWithin(memory.capacity(),
                "fine-tuning " + base.ref());
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        TrainingJob job = new TrainingJob("tj-" + UUID.randomUUID().toString().replace("-", "").substring(0, 16), name,
                request.project(), base.model(), base.version(), base.files().getFirst().sha256(), training, validation,
                request.hyperparameters(), request.output(), TrainingJob.Status.QUEUED, null, 0, 0, 0, null, null, 0,
                null, now, null, null, by.id());
        try {
            jdbi.useHandle(h -> h.createUpdate("INSERT INTO training_jobs (" + COLUMNS + ") VALUES (:id, :name, "
                            + ":project, :base, :baseVersion, :baseSha, :training, :trainingSha, :validation, "
                            + ":validationSha, :hp, :output, :status, NULL, 0, 0, 0, NULL, NULL, 0, NULL, :at, NULL, "
                            + "NULL, :by)")
                    .bind("id", job.id()).bind("name", job.name()).bind("project", job.project())
                    .bind("base", job.base().toString()).bind("baseVersion", job.baseVersion())
                    .bind("baseSha", job.baseSha256()).bind("training", training.name().toString())
                    .bind("trainingSha", training.sha256())
                    .bind("validation", validation.map(v -> v.name().toString()).orElse(null))
                    .bind("validationSha", validation.map(DatasetRef::sha256).orElse(null))
                    .bind("hp", json(job.hyperparameters())).bind("output", job.output().toString())
                    .bind("status", job.status().name()).bind("at", Timestamp.from(now)).bind("by", by.id()).execute());
        } catch (UnableToExecuteStatementException e) {
            if (Sql.isUniqueViolation(e)) {
                throw new FactoryException(ErrorCode.CONFLICT, "a training job named '" + name
                        + "' exists already; choose another name");
            }
            throw e;
        }
        LOG.info("training job {} ({}) queued: {} on {} into {} by {}", job.id(), name, base.ref(), training,
                job.output(), by.id());
        synchronized (queue) {
            queue.notifyAll();
        }
        return job;
    }

    private DatasetRef reference(DatasetName name, String project, String field) {
        Dataset dataset = datasets.find(name).filter(d -> d.project().equals(project)).orElseThrow(() ->
                FactoryException.invalidParam(field, "dataset " + name + " does not exist in project " + project
                        + "; upload it first (factory datasets upload FILE --name " + name + ")"));
        return new DatasetRef(dataset.name(), dataset.sha256());
    }

    private static void checkLayers(ModelVersion base, Hyperparameters hp) {
        if (base.metadata().get("blockCount") instanceof Number layers && hp.trainLayers() > layers.intValue()) {
            throw FactoryException.invalidParam("trainLayers", "model " + base.ref() + " has " + layers
                    + " blocks; trainLayers must be at most that (0 trains them all)");
        }
    }

    private long count(TrainingJob.Status status) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM training_jobs WHERE status = :s")
                .bind("s", status.name()).mapTo(Long.class).one());
    }

    public List<TrainingJob> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM training_jobs ORDER BY created_at DESC")
                .map((rs, ctx) -> job(rs)).list());
    }

    /** A job by its id or its name. */
    public Optional<TrainingJob> find(String idOrName) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM training_jobs WHERE id = :k "
                        + "OR job_name = :k")
                .bind("k", idOrName).map((rs, ctx) -> job(rs)).findFirst());
    }

    public TrainingJob get(String idOrName) {
        return find(idOrName).orElseThrow(() -> notFound(idOrName));
    }

    public static FactoryException notFound(String idOrName) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no training job " + idOrName);
    }

    /** The job's loss curve: every step and every epoch, in order. */
    public List<TrainingJob.Metric> metrics(String id) {
        return metrics(id, -1);
    }

    /** The points of the job's loss curve after step {@code after} (every point when it is -1), in order. */
    public List<TrainingJob.Metric> metrics(String id, int after) {
        return jdbi.withHandle(h -> h.createQuery("SELECT kind, step, epoch, loss, validation_loss, learning_rate, "
                        + "tokens_per_second, at FROM training_job_metrics WHERE job_id = :id AND step > :after "
                        + "ORDER BY step, kind DESC")
                .bind("id", id)
                .bind("after", after)
                .map((rs, ctx) -> new TrainingJob.Metric(rs.getString(1), rs.getInt(2), rs.getInt(3), rs.getDouble(4),
                        nullableDouble(rs, 5), nullableDouble(rs, 6), nullableDouble(rs, 7),
                        rs.getTimestamp(8).toInstant()))
                .list());
    }

    /**
     * Stops a job: a queued one at once, a running one at its next step (then {@code STOPPED}). A job that ended is
     * left as it is.
     */
    public TrainingJob cancel(String idOrName) {
        TrainingJob job = get(idOrName);
        if (job.status().ended()) {
            return job;
        }
        Instant now = clock.instant();
        synchronized (queue) {
            if (job.id().equals(running)) {
                stopRunning = true;
                setStatus(job.id(), TrainingJob.Status.STOPPING, null, null);
            } else {
                jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET status = :s, ended_at = :t "
                                + "WHERE id = :id AND status IN (:q, :p)")
                        .bind("s", TrainingJob.Status.STOPPED.name()).bind("q", TrainingJob.Status.QUEUED.name())
                        .bind("p", TrainingJob.Status.IN_PROGRESS.name())
                        .bind("t", Timestamp.from(now)).bind("id", job.id()).execute());
                deleteCheckpoint(job);
            }
        }
        LOG.info("training job {} asked to stop", job.id());
        return get(job.id());
    }

    /** The blobs training jobs hold (their checkpoints), which a sweep of the store must keep. */
    public Set<BlobSweep.Blob> referencedBlobs() {
        return jdbi.withHandle(h -> h.createQuery("SELECT project, checkpoint_sha256 FROM training_jobs "
                        + "WHERE checkpoint_sha256 IS NOT NULL")
                .map((rs, ctx) -> new BlobSweep.Blob(rs.getString(1), rs.getString(2))).set());
    }

    /** Removes a project's jobs as the project is deleted (its blobs and keys go with the project). Idempotent. */
    public int projectDeleted(String project) {
        synchronized (queue) {
            jdbi.withHandle(h -> h.createQuery("SELECT id FROM training_jobs WHERE project = :p").bind("p", project)
                    .mapTo(String.class).list()).forEach(id -> {
                        if (id.equals(running)) {
                            stopRunning = true;
                        }
                    });
        }
        return jdbi.withHandle(h -> h.createUpdate("DELETE FROM training_jobs WHERE project = :p")
                .bind("p", project).execute());
    }

    /** Stops the worker; a running job stops at its next step and stays in progress, to resume on the next start. */
    @Override
    public void close() {
        closing = true;
        synchronized (queue) {
            queue.notifyAll();
        }
        try {
            worker.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the worker ----

    private void work() {
        while (!closing) {
            Optional<TrainingJob> next;
            synchronized (queue) {
                next = next().filter(this::fitsNow);
                if (next.isEmpty()) {
                    try {
                        queue.wait(5_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    continue;
                }
                running = next.get().id();
                stopRunning = false;
                pauseFor = null;
            }
            try {
                run(next.get());
            } catch (RuntimeException | Error e) {
                LOG.error("training job {} failed", next.get().id(), e);
                end(next.get(), TrainingJob.Status.FAILED, String.valueOf(e.getMessage()));
            } finally {
                memory.release(owner(next.get().id()));
                synchronized (queue) {
                    running = null;
                    pauseFor = null;
                    queue.notifyAll();
                }
            }
        }
    }

    /** The job to run: one left in progress first (a restart interrupted it), then the oldest queued. */
    private Optional<TrainingJob> next() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM training_jobs WHERE status IN "
                        + "(:p, :q) ORDER BY CASE WHEN status = :p THEN 0 ELSE 1 END, created_at")
                .bind("p", TrainingJob.Status.IN_PROGRESS.name()).bind("q", TrainingJob.Status.QUEUED.name())
                .map((rs, ctx) -> job(rs)).findFirst());
    }

    /**
     * Whether the job's memory is free now. A job that would fit the machine but not what deployments leave of it
     * waits, queued, until they leave enough (checked every few seconds); one in progress (resuming) waits the same.
     */
    private boolean fitsNow(TrainingJob job) {
        long needed;
        try {
            ModelVersion base = registry.resolve(new ModelRef(job.base(), java.util.OptionalInt.of(job.baseVersion())));
            needed = TrainingMemory.estimate(base, job.hyperparameters()).total();
        } catch (FactoryException e) {
            return true; // the run reports what is wrong with the base
        }
        if (memory.tryHold(owner(job.id()), needed)) {
            waitingForMemory = null;
            return true;
        }
        long available = memory.free();
        if (!job.id().equals(waitingForMemory)) {
            waitingForMemory = job.id();
            LOG.info("training job {} waits for memory: it needs about {} MiB and {} MiB is available", job.id(),
                    needed >> 20, available >> 20);
        }
        return false;
    }

    private boolean stopRequested() {
        synchronized (queue) {
            return stopRunning || closing || pauseFor != null;
        }
    }

    private @Nullable String pausedFor() {
        synchronized (queue) {
            return stopRunning ? null : pauseFor;
        }
    }

    private void run(TrainingJob job) {
        if (job.status() == TrainingJob.Status.IN_PROGRESS && endedTheProcess(job)) {
            return;
        }
        // In progress after a restart, or queued again after giving its memory to serving.
        boolean resuming = job.checkpointStep() > 0;
        Instant started = job.startedAt() == null ? clock.instant() : job.startedAt();
        jdbi.useHandle(h -> {
            h.createUpdate("UPDATE training_jobs SET status = :s, started_at = :t, "
                            + "run_count = run_count + 1, run_start_step = steps_done WHERE id = :id")
                    .bind("s", TrainingJob.Status.IN_PROGRESS.name()).bind("t", Timestamp.from(started))
                    .bind("id", job.id()).execute();
            // The next start must know this run began, even if llama.cpp aborts the process a moment from now.
            durable(h);
        });
        PausePoints.reach("training.run", job.name());
        record(job, AUDIT_STARTED, AuditEvent.SUCCESS, resuming ? "resumed from step " + job.checkpointStep()
                : "base " + job.base() + ":" + job.baseVersion() + ", data " + job.training());
        LOG.info("training job {} {}", job.id(), resuming ? "resumes from step " + job.checkpointStep() : "starts");
        // Steps after the checkpoint are done again: their first loss values go.
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM training_job_metrics WHERE job_id = :id AND step > :step")
                .bind("id", job.id()).bind("step", resuming ? job.checkpointStep() : 0).execute());
        ModelVersion base = registry.resolve(new ModelRef(job.base(), java.util.OptionalInt.of(job.baseVersion())));
        if (!base.files().getFirst().sha256().equals(job.baseSha256())) {
            throw new FactoryException(ErrorCode.CONFLICT, "model " + base.ref() + " no longer holds the weights the "
                    + "job was created with");
        }
        List<TrainingExample> examples = datasets.examples(job.training());
        List<TrainingExample> validation = job.validation().map(datasets::examples).orElse(List.of());
        if (job.validation().isEmpty() && job.hyperparameters().validationSplit() > 0 && examples.size() > 1) {
            int held = Math.max(1, (int) Math.round(examples.size() * job.hyperparameters().validationSplit()));
            validation = examples.subList(examples.size() - held, examples.size());
            examples = examples.subList(0, examples.size() - held);
        }
        LlamaRuntime runtime = llama.get();
        Hyperparameters hp = job.hyperparameters();
        try (MemoryFile weights = weights(job, base, resuming);
                MemoryFile f32 = empty(job.id() + "-f32");
                MemoryFile output = empty(job.id() + "-output")) {
            LlamaTrainer.convertToF32(runtime, weights.path(), f32.path(), threads);
            TrainingOptions options = new TrainingOptions(f32.path(), examples, validation, hp.epochs(),
                    hp.learningRate(), hp.warmupSteps(), hp.batchSize(), hp.contextTokens(), hp.trainLayers(),
                    TrainedTensors.of(hp.trainTensors()), threads, niceness, hp.seed(), hp.checkpointSteps(),
                    resuming ? job.checkpointStep() : 0);
            Progress progress = new Progress(job);
            LlamaTrainer.Outcome outcome;
            try {
                outcome = LlamaTrainer.train(runtime, options, output.path(), progress);
            } finally {
                progress.close();
            }
            if (outcome.cancelled()) {
                String to = pausedFor();
                if (to != null) {
                    // Back to the queue: it resumes from the checkpoint it just wrote once memory is free again.
                    int at = get(job.id()).checkpointStep();
                    jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET status = :q, run_count = 0 "
                                    + "WHERE id = :id AND status = :p")
                            .bind("q", TrainingJob.Status.QUEUED.name()).bind("p", TrainingJob.Status.IN_PROGRESS.name())
                            .bind("id", job.id()).execute());
                    record(job, AUDIT_PAUSED, AuditEvent.SUCCESS, "gave its memory to " + to + " at step "
                            + outcome.steps() + "; resumes from step " + at + " when memory is free");
                    LOG.info("training job {} paused at step {} for {}; it resumes from step {}", job.id(),
                            outcome.steps(), to, at);
                    return;
                }
                if (closing && !stopRequested(job)) {
                    // A clean pause: the next start resumes the job whatever step it reached.
                    jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET run_count = 0 WHERE id = :id")
                            .bind("id", job.id()).execute());
                    LOG.info("training job {} paused at step {} for shutdown; it resumes from step {}", job.id(),
                            outcome.steps(), get(job.id()).checkpointStep());
                    return;
                }
                end(job, TrainingJob.Status.STOPPED, null);
                return;
            }
            ModelVersion result = register(job, base, output, outcome, started);
            jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET output_version = :v WHERE id = :id")
                    .bind("v", result.version()).bind("id", job.id()).execute());
            end(job, TrainingJob.Status.COMPLETED, null);
            LOG.info("training job {} completed: {} registered, training loss {}, validation loss {}", job.id(),
                    result.ref(), outcome.trainingLoss(), outcome.validationLoss());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the previous run of a job found in progress ended the factory's process without a single step done
     * since it started (llama.cpp aborts the process on a graph it cannot build, for one): resuming would end it
     * again, and again at every start. Such a job fails, with what the log of that run will explain.
     */
    private boolean endedTheProcess(TrainingJob job) {
        record Runs(int count, int startStep) {}
        Runs runs = jdbi.withHandle(h -> h.createQuery("SELECT run_count, run_start_step FROM training_jobs "
                        + "WHERE id = :id")
                .bind("id", job.id()).map((rs, ctx) -> new Runs(rs.getInt(1), rs.getInt(2))).one());
        if (runs.count() == 0 || job.stepsDone() > runs.startStep()) {
            return false;
        }
        end(job, TrainingJob.Status.FAILED, ("the factory's process ended while this job ran, before it got past step %d "
                + "(its previous start); it is not resumed again, which would end the process again. The log of "
                + "that run says why: llama.cpp aborts on a training graph larger than it can build, for one")
                .formatted(runs.startStep()));
        return true;
    }

    private boolean stopRequested(TrainingJob job) {
        synchronized (queue) {
            return stopRunning && job.id().equals(running);
        }
    }

    /** The weights to start from: the latest checkpoint when resuming, else the base model's, decrypted into memory. */
    private MemoryFile weights(TrainingJob job, ModelVersion base, boolean resuming) throws IOException {
        if (resuming) {
            String sha = checkpointSha256(job.id()).orElseThrow(() -> new FactoryException(ErrorCode.INTERNAL,
                    "training job " + job.id() + " is at step " + job.checkpointStep() + " but holds no checkpoint"));
            try (SeekableByteChannel plaintext = blobs.open(job.project(), sha, keys.dataKey(job.project(), sha))) {
                return MemoryFile.copyOf(plaintext, job.id() + "-checkpoint");
            }
        }
        registry.checkLoadable(base); // verified again: the signers trusted may have changed since the job was made
        try (SeekableByteChannel plaintext = registry.open(base, base.files().getFirst().path())) {
            return MemoryFile.copyOf(plaintext, job.id() + "-base");
        }
    }

    private static MemoryFile empty(String name) throws IOException {
        return MemoryFile.copyOf(Channels.newChannel(new ByteArrayInputStream(new byte[0])), name);
    }

    /**
     * Registers the result as a version of the output model in the job's project, with its lineage in the version's
     * metadata. llama.cpp wrote the training window as the file's context length; the version keeps the base's.
     */
    private ModelVersion register(TrainingJob job, ModelVersion base, MemoryFile output, LlamaTrainer.Outcome outcome,
                                  Instant started) throws IOException {
        Map<String, Object> lineage = new LinkedHashMap<>();
        lineage.put("job", job.id());
        lineage.put("jobName", job.name());
        lineage.put("baseModel", base.ref().toString());
        lineage.put("baseSha256", job.baseSha256());
        lineage.put("trainingDataset", job.training().name().toString());
        lineage.put("trainingSha256", job.training().sha256());
        job.validation().ifPresent(v -> {
            lineage.put("validationDataset", v.name().toString());
            lineage.put("validationSha256", v.sha256());
        });
        lineage.put("hyperparameters", job.hyperparameters().asMap());
        lineage.put("steps", outcome.steps());
        lineage.put("trainingLoss", finite(outcome.trainingLoss()));
        lineage.put("validationLoss", finite(outcome.validationLoss()));
        lineage.put("startedAt", started.toString());
        lineage.put("endedAt", clock.instant().toString());
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("lineage", lineage);
        if (base.metadata().get("contextLength") instanceof Number context) {
            extra.put("contextLength", context);
        }
        Principal owner = new Principal(job.createdBy(), "training job " + job.id(), job.project(), Role.DEVELOPER);
        // A new output model is classified as its base: its weights are the base's, changed.
        String classification = registry.find(job.output()).isPresent() ? null
                : registry.get(base.model()).classification();
        try (InputStream in = Files.newInputStream(output.path())) {
            return registry.importFiles(job.output(), Optional.of(ModelFormat.GGUF),
                    List.of(new ModelRegistry.Upload(job.output().model() + ".gguf", in, null,
                            Files.size(output.path()))),
                    extra, owner, "training-job:" + job.id(),
                    new ModelRegistry.Placement(job.project(), classification).signedBySite());
        }
    }

    private static @Nullable Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }

    private void end(TrainingJob job, TrainingJob.Status status, @Nullable String failure) {
        Instant now = clock.instant();
        setStatus(job.id(), status, failure, now);
        deleteCheckpoint(get(job.id()));
        record(job, AUDIT_ENDED, status == TrainingJob.Status.FAILED ? AuditEvent.FAILURE : AuditEvent.SUCCESS,
                status.name().toLowerCase(java.util.Locale.ROOT) + (failure == null ? "" : ": " + failure));
        if (status != TrainingJob.Status.COMPLETED) {
            LOG.warn("training job {} {}{}", job.id(), status.name().toLowerCase(java.util.Locale.ROOT),
                    failure == null ? "" : ": " + failure);
        }
        TrainingJob ended = get(job.id());
        for (Consumer<TrainingJob> listener : endListeners) {
            try {
                listener.accept(ended);
            } catch (RuntimeException e) {
                LOG.warn("training job {}: a listener of its end failed: {}", job.id(), e.getMessage(), e);
            }
        }
    }

    private void setStatus(String id, TrainingJob.Status status, @Nullable String failure, @Nullable Instant ended) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET status = :s, failure_message = :m, "
                        + "ended_at = :t WHERE id = :id")
                .bind("s", status.name()).bind("m", failure == null ? null : clip(failure))
                .bind("t", ended == null ? null : Timestamp.from(ended)).bind("id", id).execute());
    }

    private static String clip(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 2000);
    }

    private void record(TrainingJob job, String action, String outcome, String detail) {
        audit.accept(new AuditEvent(clock.instant(), job.createdBy(), "training job " + job.name(), job.project(),
                action, "job=" + job.id(), AuditEvent.ALLOW, outcome, 0, "factory", job.id(), 0, 0, 0, 0, detail));
    }

    // ---- checkpoints ----

    private void storeCheckpoint(TrainingJob job, int step, Path weights) {
        String project = job.project();
        keys.ensureKek(project);
        String previous = checkpointSha256(job.id()).orElse(null);
        try (InputStream in = Files.newInputStream(weights);
                StagedBlob staged = blobs.stage(project, in, Long.MAX_VALUE)) {
            if (!keys.hasDataKey(project, staged.sha256())) {
                blobs.commit(staged, staged.sha256());
            }
            jdbi.useTransaction(h -> {
                keys.storeDataKey(h, project, staged.sha256(), staged.size(), staged.dataKey());
                h.createUpdate("UPDATE training_jobs SET checkpoint_sha256 = :s, checkpoint_step = :step WHERE id = :id")
                        .bind("s", staged.sha256()).bind("step", step).bind("id", job.id()).execute();
            });
            // Stored before the previous checkpoint's blob goes, so that a crash never leaves the job naming it.
            jdbi.useHandle(this::durable);
            if (previous != null && !previous.equals(staged.sha256())) {
                deleteBlob(project, previous);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the checkpoint of training job " + job.id(), e);
        }
        record(job, AUDIT_CHECKPOINT, AuditEvent.SUCCESS, "step " + step);
    }

    /**
     * Embedded H2 stores a commit from a background thread, so a process killed moments later loses it; a checkpoint
     * stores it now. PostgreSQL has kept every commit that returned.
     */
    private void durable(org.jdbi.v3.core.Handle h) {
        if (h2) {
            h.execute("CHECKPOINT");
        }
    }

    private Optional<String> checkpointSha256(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT checkpoint_sha256 FROM training_jobs WHERE id = :id")
                .bind("id", id).mapTo(String.class).findOne());
    }

    private void deleteCheckpoint(TrainingJob job) {
        String sha = checkpointSha256(job.id()).orElse(null);
        if (sha != null) {
            jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET checkpoint_sha256 = NULL WHERE id = :id")
                    .bind("id", job.id()).execute());
            deleteBlob(job.project(), sha);
        }
    }

    private void deleteBlob(String project, String sha256) {
        jdbi.useTransaction(h -> keys.deleteDataKey(h, project, sha256));
        blobs.delete(project, sha256);
    }

    // ---- progress ----

    /** Records what the trainer reports: steps and epochs as metrics rows, checkpoints as blobs. */
    private final class Progress implements TrainingListener, AutoCloseable {
        private final TrainingJob job;
        private final List<MemoryFile> checkpointFiles = new ArrayList<>();

        Progress(TrainingJob job) {
            this.job = job;
        }

        private int stepsPerEpoch;
        private int totalSteps;
        private int lastStep;

        private int epochStart(int epoch) {
            return (epoch - 1) * stepsPerEpoch + 1;
        }

        @Override
        public void started(int stepsPerEpoch, int totalSteps, int tokensPerStep) {
            this.stepsPerEpoch = stepsPerEpoch;
            this.totalSteps = totalSteps;
            jdbi.useHandle(h -> h.createUpdate("UPDATE training_jobs SET total_steps = :n WHERE id = :id")
                    .bind("n", totalSteps).bind("id", job.id()).execute());
        }

        @Override
        public void step(int step, int epoch, double loss, double learningRate, double tokensPerSecond) {
            Instant now = clock.instant();
            jdbi.useTransaction(h -> {
                h.createUpdate("INSERT INTO training_job_metrics (job_id, kind, step, epoch, loss, validation_loss, "
                                + "learning_rate, tokens_per_second, at) VALUES (:id, 'step', :step, :epoch, :loss, "
                                + "NULL, :lr, :tps, :at)")
                        .bind("id", job.id()).bind("step", step).bind("epoch", epoch).bind("loss", loss)
                        .bind("lr", learningRate).bind("tps", tokensPerSecond).bind("at", Timestamp.from(now))
                        .execute();
                h.createUpdate("UPDATE training_jobs SET steps_done = :step, training_loss = :loss WHERE id = :id")
                        .bind("step", step).bind("loss", loss).bind("id", job.id()).execute();
            });
            gauges.set(new double[] {step, totalSteps, loss, tokensPerSecond});
            if (lastStep == 0) {
                memory.allocated(owner(job.id())); // its buffers exist once a step has run
            }
            lastStep = step;
            if (epoch > 1 && step == epochStart(epoch)) {
                PausePoints.reach("training.epoch", job.name() + ":" + epoch);
            }
        }

        @Override
        public void epoch(int epoch, double trainingLoss, double validationLoss) {
            Instant now = clock.instant();
            Double validation = finite(validationLoss);
            int step = lastStep;
            jdbi.useTransaction(h -> {
                h.createUpdate("INSERT INTO training_job_metrics (job_id, kind, step, epoch, loss, validation_loss, "
                                + "learning_rate, tokens_per_second, at) VALUES (:id, 'epoch', :step, :epoch, :loss, "
                                + ":validation, NULL, NULL, :at)")
                        .bind("id", job.id()).bind("step", step).bind("epoch", epoch).bind("loss", trainingLoss)
                        .bind("validation", validation).bind("at", Timestamp.from(now)).execute();
                // At an epoch's end the job's training loss becomes the epoch's mean (the last one is the job's result).
                h.createUpdate("UPDATE training_jobs SET epochs_done = :epoch, training_loss = :loss, "
                                + "validation_loss = :validation WHERE id = :id")
                        .bind("epoch", epoch).bind("loss", trainingLoss).bind("validation", validation)
                        .bind("id", job.id()).execute();
            });
        }

        @Override
        public @Nullable Path checkpointFile(int step, int epoch) {
            try {
                MemoryFile file = empty(job.id() + "-step-" + step);
                checkpointFiles.add(file);
                return file.path();
            } catch (IOException e) {
                LOG.warn("training job {}: no memory file for the checkpoint of step {}: {}", job.id(), step,
                        e.getMessage());
                return null;
            }
        }

        @Override
        public void checkpoint(int step, int epoch, Path weights) {
            storeCheckpoint(job, step, weights);
            checkpointFiles.removeIf(f -> {
                if (f.path().equals(weights)) {
                    f.close();
                    return true;
                }
                return false;
            });
        }

        @Override
        public boolean cancelled() {
            return stopRequested();
        }

        @Override
        public boolean pauseRequested() {
            return pausedFor() != null;
        }

        @Override
        public void close() {
            gauges.set(new double[] {0, 0, Double.NaN, 0});
            checkpointFiles.forEach(MemoryFile::close);
        }
    }

    // ---- rows ----

    private static String json(Hyperparameters hp) {
        try {
            return JSON.writeValueAsString(hp);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Hyperparameters hyperparameters(String json) {
        try {
            return JSON.readValue(json, Hyperparameters.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable hyperparameters " + json, e);
        }
    }

    private static @Nullable Double nullableDouble(ResultSet rs, int column) throws SQLException {
        double value = rs.getDouble(column);
        return rs.wasNull() ? null : value;
    }

    private static @Nullable Instant instant(ResultSet rs, int column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static TrainingJob job(ResultSet rs) throws SQLException {
        String validation = rs.getString(9);
        int outputVersion = rs.getInt(21);
        Integer output = rs.wasNull() ? null : outputVersion;
        return new TrainingJob(rs.getString(1), rs.getString(2), rs.getString(3), ModelName.parse(rs.getString(4)),
                rs.getInt(5), rs.getString(6), new DatasetRef(DatasetName.parse(rs.getString(7)), rs.getString(8)),
                validation == null ? Optional.empty()
                        : Optional.of(new DatasetRef(DatasetName.parse(validation), rs.getString(10))),
                hyperparameters(rs.getString(11)), ModelName.parse(rs.getString(12)),
                TrainingJob.Status.valueOf(rs.getString(13)), rs.getString(14), rs.getInt(15), rs.getInt(16),
                rs.getInt(17), nullableDouble(rs, 18), nullableDouble(rs, 19), rs.getInt(20), output,
                rs.getTimestamp(22).toInstant(), instant(rs, 23), instant(rs, 24), rs.getString(25));
    }
}
