package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.bedrock.ModelCustomization.CreateJob;
import ai.factory.api.codec.bedrock.ModelCustomization.CreatedJob;
import ai.factory.api.codec.bedrock.ModelCustomization.CustomModel;
import ai.factory.api.codec.bedrock.ModelCustomization.Empty;
import ai.factory.api.codec.bedrock.ModelCustomization.Job;
import ai.factory.api.codec.bedrock.ModelCustomization.JobSummaries;
import ai.factory.api.codec.bedrock.ModelCustomization.JobSummary;
import ai.factory.api.codec.bedrock.ModelCustomization.ModelSummaries;
import ai.factory.api.codec.bedrock.ModelCustomization.ModelSummary;
import ai.factory.api.codec.bedrock.ModelCustomization.OutputDataConfig;
import ai.factory.api.codec.bedrock.ModelCustomization.TrainingDataConfig;
import ai.factory.api.codec.bedrock.ModelCustomization.TrainingMetrics;
import ai.factory.api.codec.bedrock.ModelCustomization.ValidationDataConfig;
import ai.factory.api.codec.bedrock.ModelCustomization.Validator;
import ai.factory.api.codec.bedrock.ModelCustomization.ValidatorMetric;
import ai.factory.models.Model;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.security.Resource;
import ai.factory.serving.Deployments;
import ai.factory.serving.ModelImports;
import ai.factory.training.Hyperparameters;
import ai.factory.training.ModelCustomizations;
import ai.factory.training.ModelCustomizations.Customization;
import ai.factory.training.TrainingJob;
import ai.factory.training.TrainingJobs;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Bedrock's model customization: CreateModelCustomizationJob, GetModelCustomizationJob, ListModelCustomizationJobs,
 * StopModelCustomizationJob ({@code /model-customization-jobs}) and GetCustomModel, ListCustomModels,
 * DeleteCustomModel ({@code /custom-models}), on the factory's fine-tuning jobs. Only {@code FINE_TUNING} is
 * offered. A custom model is the registry model {@code custom/NAME} of the caller's project; its ARN,
 * {@code arn:aws:bedrock:…:custom-model/custom/NAME}, is a model id the runtime accepts once the model is deployed.
 */
public final class ModelCustomizationResource implements Routes {
    private static final String FINE_TUNING = "FINE_TUNING";
    private static final List<String> CUSTOMIZATION_TYPES = List.of(FINE_TUNING, "CONTINUED_PRE_TRAINING",
            "DISTILLATION", "REINFORCEMENT_FINE_TUNING", "IMPORTED");
    private static final List<String> STATUSES = List.of("InProgress", "Completed", "Failed", "Stopping", "Stopped");

    private final ModelCustomizations customizations;
    private final TrainingJobs jobs;
    private final ModelRegistry registry;
    private final Deployments deployments;
    private final Access access;

    public ModelCustomizationResource(ModelCustomizations customizations, TrainingJobs jobs, ModelRegistry registry,
                                      Deployments deployments, Access access) {
        this.customizations = requireNonNull(customizations, "customizations is null");
        this.jobs = requireNonNull(jobs, "jobs is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/model-customization-jobs", Action.TRAIN, Contract.of("CreateModelCustomizationJob: fine-tune a "
                + "model on JSON Lines data under models.importRoot (file://) or a dataset (factory-dataset://)",
                CreateJob.class, CreatedJob.class), this::createJob);
        routes.get("/model-customization-jobs", Action.READ_TRAINING_JOB, Contract.of("ListModelCustomizationJobs",
                null, JobSummaries.class), this::listJobs);
        routes.get("/model-customization-jobs/{jobIdentifier}", Action.READ_TRAINING_JOB, Contract.of(
                "GetModelCustomizationJob", null, Job.class), this::getJob);
        routes.post("/model-customization-jobs/{jobIdentifier}/stop", Action.CANCEL_TRAINING_JOB, Contract.of(
                "StopModelCustomizationJob", null, Empty.class), this::stopJob);
        routes.get("/custom-models", Action.READ_MODEL, Contract.of("ListCustomModels", null, ModelSummaries.class),
                this::listModels);
        routes.get("/custom-models/{modelIdentifier}", Action.READ_MODEL, Contract.of("GetCustomModel", null,
                CustomModel.class), this::getModel);
        routes.delete("/custom-models/{modelIdentifier}", Action.DELETE_MODEL, Contract.of(
                "DeleteCustomModel: deletes its deployments, then the model", null, Empty.class), this::deleteModel);
    }

    // ---- jobs ----

    private void createJob(Context ctx) {
        CreateJob body = WireJson.read(ctx.bodyAsBytes(), CreateJob.class);
        String jobName = required(body.jobName(), "jobName");
        String customModelName = required(body.customModelName(), "customModelName");
        String baseIdentifier = required(body.baseModelIdentifier(), "baseModelIdentifier");
        String type = body.customizationType() == null ? FINE_TUNING : body.customizationType();
        if (!type.equals(FINE_TUNING)) {
            throw FactoryException.invalidParam("customizationType", "'customizationType' "
                    + (CUSTOMIZATION_TYPES.contains(type) ? type + " is not offered here" : "'" + type + "' is unknown")
                    + "; the factory offers FINE_TUNING only");
        }
        if (body.trainingDataConfig() == null) {
            throw FactoryException.invalidParam("trainingDataConfig", "'trainingDataConfig.s3Uri' is required");
        }
        String trainingUri = required(body.trainingDataConfig().s3Uri(), "trainingDataConfig.s3Uri");
        Optional<String> validationUri = Optional.empty();
        if (body.validationDataConfig() != null) {
            List<Validator> validators = body.validationDataConfig().validators();
            if (validators == null || validators.size() != 1 || validators.getFirst() == null) {
                throw FactoryException.invalidParam("validationDataConfig.validators", "'validationDataConfig"
                        + ".validators' must hold exactly one validator here");
            }
            validationUri = Optional.of(required(validators.getFirst().s3Uri(),
                    "validationDataConfig.validators[0].s3Uri"));
        }
        if (body.outputDataConfig() == null) {
            throw FactoryException.invalidParam("outputDataConfig", "'outputDataConfig.s3Uri' is required");
        }
        String outputUri = required(body.outputDataConfig().s3Uri(), "outputDataConfig.s3Uri");
        Hyperparameters hp = Hyperparameters.DEFAULTS.with(body.hyperParameters() == null ? Map.of()
                : body.hyperParameters());
        String project = access.caller(ctx).project();
        access.require(ctx, Action.TRAIN, new Resource.Project(project));
        ModelRef base = baseModel(baseIdentifier);
        access.model(ctx, Action.READ_MODEL, base.name());
        Customization c = customizations.create(new ModelCustomizations.Request(jobName, customModelName,
                baseIdentifier, base, trainingUri, validationUri, outputUri, hp, project, body.clientRequestToken()),
                access.caller(ctx));
        ctx.status(201).json(new CreatedJob(jobArn(c.job())));
    }

    /** The base model a Bedrock identifier names: a factory model name ({@code ns/name[:version]}) or its ARN. */
    private static ModelRef baseModel(String identifier) {
        try {
            return ModelRef.parse(BedrockModels.modelName(identifier));
        } catch (FactoryException e) {
            if (e.code() == ErrorCode.INVALID_REQUEST) {
                throw FactoryException.invalidParam("baseModelIdentifier", "'baseModelIdentifier': " + e.getMessage());
            }
            throw e;
        }
    }

    private static String required(@Nullable String value, String field) {
        if (value == null || value.isBlank()) {
            throw FactoryException.invalidParam(field, "'" + field + "' is required");
        }
        return value;
    }

    private void getJob(Context ctx) {
        ctx.json(job(customization(ctx, Action.READ_TRAINING_JOB)));
    }

    private void stopJob(Context ctx) {
        Customization c = customization(ctx, Action.CANCEL_TRAINING_JOB);
        if (c.job().status().ended()) {
            throw FactoryException.invalidParam("jobIdentifier", "job " + c.job().name() + " has ended ("
                    + status(c.job()) + "); only a job in progress can be stopped");
        }
        jobs.cancel(c.job().id());
        ctx.json(new Empty());
    }

    /** The job the path names, once the caller may do the action on it; one it may not see answers as missing. */
    private Customization customization(Context ctx, Action action) {
        String identifier = ctx.pathParam("jobIdentifier");
        String id = BedrockArns.resourceId(identifier, "model-customization-job");
        Customization c = customizations.find(id).orElseThrow(() -> noJob(identifier));
        access.require(ctx, action, resource(c.job()), () -> noJob(identifier));
        return c;
    }

    private static FactoryException noJob(String identifier) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no model customization job '" + identifier
                + "'; ListModelCustomizationJobs shows them");
    }

    /**
     * ListModelCustomizationJobs with {@code statusEquals}, {@code nameContains}, {@code creationTimeAfter},
     * {@code creationTimeBefore}, {@code sortBy} ({@code CreationTime}), {@code sortOrder}, {@code maxResults} and
     * {@code nextToken}.
     */
    private void listJobs(Context ctx) {
        String status = oneOf(ctx, "statusEquals", STATUSES);
        String name = ctx.queryParam("nameContains");
        Stream<Customization> found = customizations.list().stream()
                .filter(c -> access.allows(ctx, Action.READ_TRAINING_JOB, resource(c.job())))
                .filter(c -> status == null || status(c.job()).equals(status))
                .filter(c -> name == null || c.job().name().contains(name))
                .filter(created(ctx, c -> c.job().createdAt()));
        Page<Customization> page = page(ctx, found.sorted(order(ctx, c -> c.job().createdAt())).toList());
        ctx.json(new JobSummaries(page.nextToken(), page.items().stream().map(c -> new JobSummary(jobArn(c.job()),
                baseModelArn(c.job()), c.job().name(), status(c.job()), lastModified(c.job()).toString(),
                c.job().createdAt().toString(), text(c.job().endedAt()), outputModelArn(c.job()),
                c.job().output().model(), FINE_TUNING)).toList()));
    }

    private static Job job(Customization c) {
        TrainingJob j = c.job();
        return new Job(jobArn(j), j.name(), j.output().model(), outputModelArn(j), c.clientRequestToken(), status(j),
                j.failure(), j.createdAt().toString(), lastModified(j).toString(), text(j.endedAt()),
                baseModelArn(j), j.hyperparameters().asMap(), new TrainingDataConfig(c.trainingUri()),
                validationConfig(c), new OutputDataConfig(c.outputUri()), FINE_TUNING, trainingMetrics(j),
                validationMetrics(c));
    }

    // ---- custom models ----

    private void listModels(Context ctx) {
        String name = ctx.queryParam("nameContains");
        String baseArn = ctx.queryParam("baseModelArnEquals");
        String modelStatus = oneOf(ctx, "modelStatus", List.of("Active", "Creating", "Failed"));
        List<Customization> made = customizations.list();
        Stream<ModelSummary> found = registry.list().stream()
                .filter(m -> m.name().namespace().equals(ModelCustomizations.NAMESPACE))
                .filter(m -> access.allows(ctx, Action.READ_MODEL, Access.resource(m)))
                .filter(m -> name == null || m.name().model().contains(name))
                .filter(m -> modelStatus == null || modelStatus.equals("Active"))
                .filter(created(ctx, Model::createdAt))
                .map(m -> {
                    Optional<TrainingJob> job = made.stream().map(Customization::job)
                            .filter(j -> j.output().equals(m.name()) && j.status() == TrainingJob.Status.COMPLETED)
                            .findFirst();
                    return new ModelSummary(modelArn(m.name()), m.name().model(), m.createdAt().toString(),
                            job.map(ModelCustomizationResource::baseModelArn).orElse(null),
                            job.map(j -> j.base().toString()).orElse(null), FINE_TUNING, "Active",
                            BedrockArns.ACCOUNT);
                })
                .filter(s -> baseArn == null || baseArn.equals(s.baseModelArn()));
        Page<ModelSummary> page = page(ctx, found.sorted(order(ctx, s -> Instant.parse(s.creationTime()))).toList());
        ctx.json(new ModelSummaries(page.nextToken(), page.items()));
    }

    private void getModel(Context ctx) {
        String identifier = ctx.pathParam("modelIdentifier");
        Model model = customModel(identifier);
        access.require(ctx, Action.READ_MODEL, Access.resource(model), () -> noCustomModel(identifier));
        Optional<Customization> c = customizations.madeModel(model.name());
        Optional<TrainingJob> j = c.map(Customization::job);
        ctx.json(new CustomModel(modelArn(model.name()), model.name().model(), j.map(TrainingJob::name).orElse(null),
                j.map(ModelCustomizationResource::jobArn).orElse(null),
                j.map(ModelCustomizationResource::baseModelArn).orElse(null), FINE_TUNING,
                j.map(x -> x.hyperparameters().asMap()).orElse(null),
                c.map(x -> new TrainingDataConfig(x.trainingUri())).orElse(null),
                c.map(ModelCustomizationResource::validationConfig).orElse(null),
                c.map(x -> new OutputDataConfig(x.outputUri())).orElse(null),
                j.map(ModelCustomizationResource::trainingMetrics).orElse(null),
                c.map(ModelCustomizationResource::validationMetrics).orElse(null), model.createdAt().toString(),
                "Active"));
    }

    private void deleteModel(Context ctx) {
        String identifier = ctx.pathParam("modelIdentifier");
        Model model = customModel(identifier);
        access.require(ctx, Action.DELETE_MODEL, Access.resource(model), () -> noCustomModel(identifier));
        deployments.list().stream().filter(d -> d.model().equals(model.name()))
                .forEach(d -> deployments.delete(d.id()));
        registry.delete(new ModelRef(model.name(), OptionalInt.empty()));
        ctx.json(new Empty());
    }

    /** A custom model by its ARN or its name (with or without the {@code custom/} namespace). */
    private Model customModel(String identifier) {
        String id = BedrockArns.resourceId(identifier, "custom-model");
        String prefix = ModelCustomizations.NAMESPACE + "/";
        String name = id.startsWith(prefix) ? id.substring(prefix.length()) : id;
        Optional<Model> model = name.contains("/") || name.isBlank() ? Optional.empty()
                : registry.find(new ModelName(ModelCustomizations.NAMESPACE, name));
        return model.orElseThrow(() -> noCustomModel(identifier));
    }

    private static FactoryException noCustomModel(String identifier) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no custom model '" + identifier
                + "'; ListCustomModels shows them");
    }

    // ---- shapes ----

    private static @Nullable ValidationDataConfig validationConfig(Customization c) {
        return c.validationUri().map(u -> new ValidationDataConfig(List.of(new Validator(u)))).orElse(null);
    }

    private static @Nullable TrainingMetrics trainingMetrics(TrainingJob j) {
        return j.trainingLoss() == null ? null : new TrainingMetrics(j.trainingLoss());
    }

    /** One per validator, as Bedrock lists them: here the one validation set, or the split held out of training. */
    private static @Nullable List<ValidatorMetric> validationMetrics(Customization c) {
        Double loss = c.job().validationLoss();
        return loss == null ? null : List.of(new ValidatorMetric(loss));
    }

    private static String status(TrainingJob j) {
        return switch (j.status()) {
            case QUEUED, IN_PROGRESS -> "InProgress";
            case STOPPING -> "Stopping";
            case STOPPED -> "Stopped";
            case COMPLETED -> "Completed";
            case FAILED -> "Failed";
        };
    }

    private static Instant lastModified(TrainingJob j) {
        Instant last = j.createdAt();
        for (Instant t : new Instant[] {j.startedAt(), j.endedAt()}) {
            if (t != null && t.isAfter(last)) {
                last = t;
            }
        }
        return last;
    }

    private static @Nullable String text(@Nullable Instant t) {
        return t == null ? null : t.toString();
    }

    private static String jobArn(TrainingJob j) {
        return BedrockArns.of("model-customization-job", j.id());
    }

    private static String modelArn(ModelName model) {
        return BedrockArns.of("custom-model", model.toString());
    }

    /** The model a job made, once it completed; null (left out) before. */
    private static @Nullable String outputModelArn(TrainingJob j) {
        return j.status() == TrainingJob.Status.COMPLETED ? modelArn(j.output()) : null;
    }

    /** The base model's ARN by the kind of model it is: imported, custom, or else foundation. */
    private static String baseModelArn(TrainingJob j) {
        String type = switch (j.base().namespace()) {
            case ModelImports.NAMESPACE -> "imported-model";
            case ModelCustomizations.NAMESPACE -> "custom-model";
            default -> "foundation-model";
        };
        return BedrockArns.of(type, j.base() + ":" + j.baseVersion());
    }

    private static Resource.TrainingJob resource(TrainingJob j) {
        return new Resource.TrainingJob(j.id(), j.project());
    }

    // ---- list parameters ----

    private static @Nullable String oneOf(Context ctx, String name, List<String> allowed) {
        String value = ctx.queryParam(name);
        if (value != null && !allowed.contains(value)) {
            throw FactoryException.invalidParam(name, "'" + name + "' must be one of " + String.join(", ", allowed)
                    + ", not '" + value + "'");
        }
        return value;
    }

    private static <T> java.util.function.Predicate<T> created(Context ctx, Function<T, Instant> at) {
        Instant after = instant(ctx, "creationTimeAfter");
        Instant before = instant(ctx, "creationTimeBefore");
        return x -> (after == null || at.apply(x).isAfter(after)) && (before == null || at.apply(x).isBefore(before));
    }

    private static @Nullable Instant instant(Context ctx, String name) {
        String value = ctx.queryParam(name);
        if (value == null) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw FactoryException.invalidParam(name, "'" + name + "' must be an ISO-8601 time, not '" + value + "'");
        }
    }

    /** By {@code sortBy} ({@code CreationTime}, the only one) in {@code sortOrder} (default {@code Descending}). */
    private static <T> Comparator<T> order(Context ctx, Function<T, Instant> createdAt) {
        oneOf(ctx, "sortBy", List.of("CreationTime"));
        String order = oneOf(ctx, "sortOrder", List.of("Ascending", "Descending"));
        Comparator<T> ascending = Comparator.comparing(createdAt);
        return "Ascending".equals(order) ? ascending : ascending.reversed();
    }

    /** One page of a list: up to {@code maxResults} (1 to 1000, default 1000) from the offset {@code nextToken}. */
    private record Page<T>(List<T> items, @Nullable String nextToken) {}

    private static <T> Page<T> page(Context ctx, List<T> all) {
        int max = integer(ctx, "maxResults", 1000);
        if (max < 1 || max > 1000) {
            throw FactoryException.invalidParam("maxResults", "'maxResults' must be between 1 and 1000, not " + max);
        }
        int from = integer(ctx, "nextToken", 0);
        if (from < 0 || from > all.size()) {
            throw FactoryException.invalidParam("nextToken", "'nextToken' is not one this list answered");
        }
        int to = Math.min(all.size(), from + max);
        return new Page<>(all.subList(from, to), to < all.size() ? String.valueOf(to) : null);
    }

    private static int integer(Context ctx, String name, int absent) {
        String value = ctx.queryParam(name);
        if (value == null) {
            return absent;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw FactoryException.invalidParam(name, "'" + name + "' is not valid: '" + value + "'");
        }
    }
}
