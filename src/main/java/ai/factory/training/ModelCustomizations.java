package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.identity.Principal;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Model customization jobs as Amazon Bedrock's control plane makes them: a fine-tuning {@link TrainingJob} whose data
 * comes from URIs and whose result is the custom model {@code custom/NAME} of the caller's project.
 *
 * <p>A data URI is either {@code file:///abs/data.jsonl} under the import root ({@link SiteFiles}), which is checked
 * and stored as the dataset {@code custom/JOB-training} (or {@code -validation}) of the project, or
 * {@code factory-dataset://NAMESPACE/NAME}, a dataset of the project that exists already. The output URI is a
 * {@code file:///} folder under the import root: when the job completes, Bedrock's metrics files are written there,
 * under {@code model-customization-job-ID/} ({@link #writeMetrics}).
 *
 * <p>Creation is all or nothing: what can be checked is checked before any dataset is stored, and datasets stored for a
 * job that is then refused are deleted again.
 */
public final class ModelCustomizations {
    /** The registry namespace custom models live in. */
    public static final String NAMESPACE = "custom";
    /** The URI scheme that names an existing dataset: {@code factory-dataset://NAMESPACE/NAME}. */
    public static final String DATASET_SCHEME = "factory-dataset://";

    private static final Logger LOG = LoggerFactory.getLogger(ModelCustomizations.class);
    /** Bedrock's patterns for a job's and a custom model's name. */
    private static final Pattern JOB_NAME = Pattern.compile("[a-zA-Z0-9](-*[a-zA-Z0-9+\\-.])*");
    private static final Pattern MODEL_NAME = Pattern.compile("([0-9a-zA-Z][_-]?)+");
    private static final String SELECT = "SELECT job_id, base_model_identifier, training_uri, validation_uri, "
            + "output_uri, client_request_token, created_by FROM model_customization_jobs";

    private final Jdbi jdbi;
    private final TrainingJobs jobs;
    private final Datasets datasets;
    private final ModelRegistry registry;
    private final SiteFiles files;

    /**
     * What a caller asks for.
     *
     * @param baseModelIdentifier the base model as the caller named it (kept, shown back)
     * @param base the base model it names
     * @param clientRequestToken the client's idempotency token, if it sent one
     */
    public record Request(String jobName, String customModelName, String baseModelIdentifier, ModelRef base,
                          String trainingUri, Optional<String> validationUri, String outputUri,
                          Hyperparameters hyperparameters, String project, @Nullable String clientRequestToken) {
        public Request {
            requireNonNull(jobName, "jobName is null");
            requireNonNull(customModelName, "customModelName is null");
            requireNonNull(baseModelIdentifier, "baseModelIdentifier is null");
            requireNonNull(base, "base is null");
            requireNonNull(trainingUri, "trainingUri is null");
            requireNonNull(validationUri, "validationUri is null");
            requireNonNull(outputUri, "outputUri is null");
            requireNonNull(hyperparameters, "hyperparameters is null");
            requireNonNull(project, "project is null");
        }
    }

    /** A customization job: the training job and what Bedrock's API named that the training job does not keep. */
    public record Customization(TrainingJob job, String baseModelIdentifier, String trainingUri,
                                Optional<String> validationUri, String outputUri,
                                @Nullable String clientRequestToken) {
        public Customization {
            requireNonNull(job, "job is null");
            requireNonNull(baseModelIdentifier, "baseModelIdentifier is null");
            requireNonNull(trainingUri, "trainingUri is null");
            requireNonNull(validationUri, "validationUri is null");
            requireNonNull(outputUri, "outputUri is null");
        }

        /** Where the metrics files of the job go: {@code OUTPUT/model-customization-job-ID}. */
        public Path metricsFolder(SiteFiles files) {
            return files.folder(outputUri, "outputDataConfig.s3Uri").resolve("model-customization-job-" + job.id());
        }
    }

    public ModelCustomizations(Jdbi jdbi, TrainingJobs jobs, Datasets datasets, ModelRegistry registry,
                               SiteFiles files) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.jobs = requireNonNull(jobs, "jobs is null");
        this.datasets = requireNonNull(datasets, "datasets is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.files = requireNonNull(files, "files is null");
        jobs.onEnded(this::ended);
    }

    /**
     * Checks the request, stores the datasets its file URIs name, and queues the training job; a request with the
     * client token of one this caller made before answers that job, and creates nothing.
     */
    public Customization create(Request r, Principal by) {
        requireNonNull(r, "request is null");
        requireNonNull(by, "by is null");
        if (r.clientRequestToken() != null) {
            Optional<Customization> earlier = jdbi.withHandle(h -> h.createQuery(SELECT
                            + " WHERE created_by = :by AND client_request_token = :t")
                    .bind("by", by.id()).bind("t", r.clientRequestToken()).map((rs, ctx) -> row(rs)).findOne())
                    .map(this::withJob);
            if (earlier.isPresent()) {
                return earlier.get();
            }
        }
        if (r.jobName().isEmpty() || r.jobName().length() > 63 || !JOB_NAME.matcher(r.jobName()).matches()) {
            throw FactoryException.invalidParam("jobName", "'jobName' is 1 to 63 letters, digits, '-', '+' or '.', "
                    + "starting with a letter or digit, not '" + r.jobName() + "'");
        }
        if (r.customModelName().isEmpty() || r.customModelName().length() > 63
                || !MODEL_NAME.matcher(r.customModelName()).matches()) {
            throw FactoryException.invalidParam("customModelName", "'customModelName' is 1 to 63 letters and digits, "
                    + "single '-' or '_' between them, not '" + r.customModelName() + "'");
        }
        ModelName output = new ModelName(NAMESPACE, r.customModelName());
        if (jobs.find(r.jobName()).isPresent()) {
            throw new FactoryException(ErrorCode.CONFLICT, "a model customization job named '" + r.jobName()
                    + "' exists already; choose another jobName");
        }
        if (registry.find(output).isPresent() || jobs.list().stream()
                .anyMatch(j -> j.output().equals(output) && !j.status().ended())) {
            throw new FactoryException(ErrorCode.CONFLICT, "a custom model named '" + r.customModelName()
                    + "' exists already (or a job is making one); choose another customModelName");
        }
        registry.resolve(r.base());
        files.folder(r.outputUri(), "outputDataConfig.s3Uri");
        Optional<Path> trainingFile = source(r.trainingUri(), "trainingDataConfig.s3Uri");
        Optional<Path> validationFile = r.validationUri().flatMap(u -> source(u, "validationDataConfig.validators[0].s3Uri"));

        List<DatasetName> stored = new ArrayList<>();
        try {
            DatasetName training = dataset(r, r.trainingUri(), trainingFile, "training", "trainingDataConfig.s3Uri",
                    stored, by);
            Optional<DatasetName> validation = r.validationUri().map(u -> dataset(r, u, validationFile, "validation",
                    "validationDataConfig.validators[0].s3Uri", stored, by));
            TrainingJob job = jobs.create(new TrainingJobs.Request(r.jobName(), r.project(), r.base(), training,
                    validation, r.hyperparameters(), output), by);
            Customization c = new Customization(job, r.baseModelIdentifier(), r.trainingUri(), r.validationUri(),
                    r.outputUri(), r.clientRequestToken());
            jdbi.useHandle(h -> h.createUpdate("INSERT INTO model_customization_jobs (job_id, base_model_identifier, "
                            + "training_uri, validation_uri, output_uri, client_request_token, created_by) VALUES (:id, "
                            + ":base, :training, :validation, :output, :token, :by)")
                    .bind("id", job.id()).bind("base", r.baseModelIdentifier()).bind("training", r.trainingUri())
                    .bind("validation", r.validationUri().orElse(null)).bind("output", r.outputUri())
                    .bind("token", r.clientRequestToken()).bind("by", by.id()).execute());
            LOG.info("model customization job {} ({}) created: {} into {}", job.id(), r.jobName(), r.base(), output);
            return c;
        } catch (RuntimeException e) {
            for (DatasetName name : stored) {
                try {
                    datasets.delete(name);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** The file a {@code file:} URI names, none for a dataset URI; anything else is refused naming {@code field}. */
    private Optional<Path> source(String uri, String field) {
        if (uri.startsWith(DATASET_SCHEME)) {
            datasetName(uri, field);
            return Optional.empty();
        }
        if (!SiteFiles.isFile(uri) && !uri.regionMatches(true, 0, "s3:", 0, 3)) {
            throw FactoryException.invalidParam(field, "'" + field + "' is file:///absolute/path.jsonl under the "
                    + "import root or " + DATASET_SCHEME + "NAMESPACE/NAME, not '" + uri + "'");
        }
        return Optional.of(files.file(uri, field));
    }

    private static DatasetName datasetName(String uri, String field) {
        try {
            return DatasetName.parse(uri.substring(DATASET_SCHEME.length()));
        } catch (FactoryException e) {
            throw FactoryException.invalidParam(field, "'" + field + "': " + e.getMessage());
        }
    }

    /** The dataset a URI names: one that exists, or the file stored now as {@code custom/JOB-KIND}. */
    private DatasetName dataset(Request r, String uri, Optional<Path> file, String kind, String field,
                                List<DatasetName> stored, Principal by) {
        if (file.isEmpty()) {
            DatasetName name = datasetName(uri, field);
            if (datasets.find(name).filter(d -> d.project().equals(r.project())).isEmpty()) {
                throw FactoryException.invalidParam(field, "'" + field + "': there is no dataset " + name
                        + " in project " + r.project());
            }
            return name;
        }
        DatasetName name = new DatasetName(NAMESPACE, r.jobName().replace('+', '_') + "-" + kind);
        try (InputStream in = Files.newInputStream(file.get())) {
            datasets.upload(name, in, Files.size(file.get()), new Datasets.Placement(r.project(), null), by);
        } catch (IOException e) {
            throw FactoryException.invalidParam(field, "'" + field + "': cannot read " + file.get() + ": "
                    + e.getMessage());
        } catch (FactoryException e) {
            if ("dataset".equals(e.param())) {
                throw FactoryException.about(e.code(), field, "'" + field + "' (" + file.get() + "): "
                        + e.getMessage());
            }
            throw e;
        }
        stored.add(name);
        return name;
    }

    /** A customization job by its training job's id or name. */
    public Optional<Customization> find(String idOrName) {
        return jobs.find(idOrName).flatMap(job -> jdbi.withHandle(h -> h.createQuery(SELECT + " WHERE job_id = :id")
                .bind("id", job.id()).map((rs, ctx) -> row(rs)).findOne()).map(c -> withJob(c, job)));
    }

    /** Every customization job, newest first. */
    public List<Customization> list() {
        Map<String, Row> rows = jdbi.withHandle(h -> h.createQuery(SELECT).map((rs, ctx) -> row(rs)).list())
                .stream().collect(Collectors.toMap(Row::jobId, r -> r));
        List<Customization> out = new ArrayList<>();
        for (TrainingJob job : jobs.list()) {
            Row row = rows.get(job.id());
            if (row != null) {
                out.add(withJob(row, job));
            }
        }
        return out;
    }

    /** The job that made a custom model: the latest completed one whose output it is. */
    public Optional<Customization> madeModel(ModelName model) {
        return list().stream().filter(c -> c.job().output().equals(model)
                && c.job().status() == TrainingJob.Status.COMPLETED).findFirst();
    }

    private Customization withJob(Row row) {
        return withJob(row, jobs.get(row.jobId()));
    }

    private static Customization withJob(Row row, TrainingJob job) {
        return new Customization(job, row.baseModelIdentifier(), row.trainingUri(), row.validationUri(),
                row.outputUri(), row.clientRequestToken());
    }

    private void ended(TrainingJob job) {
        if (job.status() != TrainingJob.Status.COMPLETED) {
            return;
        }
        find(job.id()).ifPresent(c -> {
            try {
                writeMetrics(c);
            } catch (IOException | RuntimeException e) {
                LOG.warn("model customization job {}: its metrics files could not be written to {}: {}", job.id(),
                        c.outputUri(), e.getMessage());
            }
        });
    }

    /**
     * Writes Bedrock's metrics files of a job: {@code training_artifacts/step_wise_training_metrics.csv}, one row per
     * optimizer step, and, when validation loss was measured,
     * {@code validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv}, one row per epoch.
     * Columns as Bedrock's: {@code step_number} (from 0), {@code epoch_number}, {@code training_loss} (or
     * {@code validation_loss}) and {@code perplexity} (e to the loss).
     */
    void writeMetrics(Customization c) throws IOException {
        Path folder = c.metricsFolder(files);
        List<TrainingJob.Metric> metrics = jobs.metrics(c.job().id());
        StringBuilder training = new StringBuilder("step_number,epoch_number,training_loss,perplexity\n");
        StringBuilder validation = new StringBuilder("step_number,epoch_number,validation_loss,perplexity\n");
        boolean validated = false;
        for (TrainingJob.Metric m : metrics) {
            if (m.kind().equals("step")) {
                training.append(row(m.step() - 1, m.epoch(), m.loss()));
            } else if (m.validationLoss() != null) {
                validation.append(row(m.step() - 1, m.epoch(), m.validationLoss()));
                validated = true;
            }
        }
        write(folder.resolve("training_artifacts").resolve("step_wise_training_metrics.csv"), training.toString());
        if (validated) {
            write(folder.resolve("validation_artifacts").resolve("post_fine_tuning_validation").resolve("validation")
                    .resolve("validation_metrics.csv"), validation.toString());
        }
        LOG.info("model customization job {}: metrics written under {}", c.job().id(), folder);
    }

    private static String row(int step, int epoch, double loss) {
        return String.format(Locale.ROOT, "%d,%d,%s,%s%n", Math.max(0, step), epoch, loss, Math.exp(loss));
    }

    /** Written beside, then moved into place, so a reader never sees half a file. */
    private static void write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Path part = file.resolveSibling(file.getFileName() + ".part");
        Files.writeString(part, content, StandardCharsets.UTF_8);
        Files.move(part, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A row of {@code model_customization_jobs}: a customization job without its training job. */
    private record Row(String jobId, String baseModelIdentifier, String trainingUri, Optional<String> validationUri,
                       String outputUri, @Nullable String clientRequestToken) {}

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("job_id"), rs.getString("base_model_identifier"), rs.getString("training_uri"),
                Optional.ofNullable(rs.getString("validation_uri")), rs.getString("output_uri"),
                rs.getString("client_request_token"));
    }
}
