package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.TrainingJobWire;
import ai.factory.api.codec.admin.TrainingJobWire.CreateJob;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.security.Action;
import ai.factory.security.Resource;
import ai.factory.tenancy.Projects;
import ai.factory.training.DatasetName;
import ai.factory.training.Hyperparameters;
import ai.factory.training.TrainingJob;
import ai.factory.training.TrainingJobs;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Fine-tuning jobs over HTTP: {@code /api/v1/training-jobs}. Creating one answers 201 with the job queued; it then
 * runs in the background, one job at a time, and its status, losses and loss curve are read back here.
 */
public final class TrainingJobsResource implements Routes {
    private static final String JOB = "/api/v1/training-jobs/{id}";

    private final TrainingJobs jobs;
    private final Projects projects;
    private final Access access;

    public TrainingJobsResource(TrainingJobs jobs, Projects projects, Access access) {
        this.jobs = requireNonNull(jobs, "jobs is null");
        this.projects = requireNonNull(projects, "projects is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/training-jobs", Action.READ_TRAINING_JOB, Contract.of(
                "List the fine-tuning jobs the caller may read", null, TrainingJobWire.JobList.class),
                ctx -> ctx.json(new TrainingJobWire.JobList(jobs.list().stream()
                        .filter(j -> access.allows(ctx, Action.READ_TRAINING_JOB, resource(j)))
                        .map(TrainingJobsResource::wire).toList())));
        routes.post("/api/v1/training-jobs", Action.TRAIN, Contract.of(
                "Create a fine-tuning job (answers 201 with the job queued)", CreateJob.class,
                TrainingJobWire.Job.class), this::create);
        routes.get(JOB, Action.READ_TRAINING_JOB, Contract.of("Show a fine-tuning job: status, steps, losses", null,
                TrainingJobWire.Job.class), ctx -> ctx.json(wire(job(ctx, Action.READ_TRAINING_JOB))));
        routes.get(JOB + "/metrics", Action.READ_TRAINING_JOB, Contract.of(
                "A fine-tuning job's loss curve: every step's loss and every epoch's training and validation loss; "
                        + "?after=STEP gives only the points of later steps (for following a running job)",
                null, TrainingJobWire.Metrics.class), ctx -> {
            AuditResource.checkParams(ctx, Set.of("after"));
            int after = (int) AuditResource.wholeNumber(ctx, "after", -1, 0, Integer.MAX_VALUE,
                    "a step number, 0 or more");
            TrainingJob job = job(ctx, Action.READ_TRAINING_JOB);
            ctx.json(new TrainingJobWire.Metrics(job.id(), jobs.metrics(job.id(), after).stream()
                    .map(m -> new TrainingJobWire.Metric(m.kind(), m.step(), m.epoch(), m.loss(), m.validationLoss(),
                            m.learningRate(), m.tokensPerSecond(), m.at()))
                    .toList()));
        });
        routes.post(JOB + "/cancel", Action.CANCEL_TRAINING_JOB, Contract.of(
                "Stop a fine-tuning job (a running one stops at its next step)", null, TrainingJobWire.Job.class),
                ctx -> ctx.json(wire(jobs.cancel(job(ctx, Action.CANCEL_TRAINING_JOB).id()))));
    }

    private void create(Context ctx) {
        CreateJob body = WireJson.read(ctx.bodyAsBytes(), CreateJob.class);
        String project = Optional.ofNullable(body.project()).orElse(access.caller(ctx).project());
        projects.get(project);
        access.require(ctx, Action.TRAIN, new Resource.Project(project));
        ModelRef base = parse("baseModel", () -> ModelRef.parse(body.baseModel()));
        access.model(ctx, Action.READ_MODEL, base.name());
        DatasetName training = parse("trainingDataset", () -> DatasetName.parse(body.trainingDataset()));
        String validationName = body.validationDataset();
        Optional<DatasetName> validation = validationName == null ? Optional.empty()
                : Optional.of(parse("validationDataset", () -> DatasetName.parse(validationName)));
        ModelName output = parse("outputModel", () -> ModelName.parse(body.outputModel()));
        Hyperparameters hp = Hyperparameters.DEFAULTS.with(strings(body.hyperparameters()));
        TrainingJob job = jobs.create(new TrainingJobs.Request(body.name(), project, base, training, validation, hp,
                output), access.caller(ctx));
        ctx.status(201).json(wire(job));
    }

    /** Hyperparameter values as Bedrock sends them (strings), from JSON strings or numbers. */
    static Map<String, String> strings(@Nullable Map<String, Object> values) {
        Map<String, String> out = new LinkedHashMap<>();
        if (values != null) {
            values.forEach((k, v) -> {
                if (!(v instanceof String) && !(v instanceof Number)) {
                    throw FactoryException.invalidParam("hyperparameters." + k, "hyperparameter '" + k
                            + "' must be a number or a string holding one");
                }
                out.put(k, v.toString());
            });
        }
        return out;
    }

    private static <T> T parse(String field, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam(field, field + ": " + e.getMessage());
        }
    }

    /** The job the path names, once the caller may do the action on it; one it may not see answers as missing. */
    private TrainingJob job(Context ctx, Action action) {
        String id = ctx.pathParam("id");
        TrainingJob job = jobs.find(id).orElseThrow(() -> TrainingJobs.notFound(id));
        access.require(ctx, action, resource(job), () -> TrainingJobs.notFound(id));
        return job;
    }

    private static Resource.TrainingJob resource(TrainingJob job) {
        return new Resource.TrainingJob(job.id(), job.project());
    }

    public static TrainingJobWire.Job wire(TrainingJob j) {
        return new TrainingJobWire.Job(j.id(), j.name(), j.project(),
                j.status().name().toLowerCase(Locale.ROOT).replace('_', '-'), j.failure(),
                j.base() + ":" + j.baseVersion(), j.baseSha256(), j.training().name().toString(), j.training().sha256(),
                j.validation().map(v -> v.name().toString()).orElse(null),
                j.validation().map(v -> v.sha256()).orElse(null), j.hyperparameters().asMap(), j.output().toString(),
                j.outputVersion(), j.stepsDone(), j.totalSteps(), j.epochsDone(), j.trainingLoss(), j.validationLoss(),
                j.checkpointStep(), j.createdAt(), j.startedAt(), j.endedAt(), j.createdBy());
    }
}
