package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.bedrock.ModelImport;
import ai.factory.api.codec.bedrock.ModelImport.CreateJob;
import ai.factory.api.codec.bedrock.ModelImport.CreatedJob;
import ai.factory.api.codec.bedrock.ModelImport.DataSource;
import ai.factory.api.codec.bedrock.ModelImport.ImportedModel;
import ai.factory.api.codec.bedrock.ModelImport.Job;
import ai.factory.api.codec.bedrock.ModelImport.JobSummaries;
import ai.factory.api.codec.bedrock.ModelImport.JobSummary;
import ai.factory.api.codec.bedrock.ModelImport.ModelSummaries;
import ai.factory.api.codec.bedrock.ModelImport.ModelSummary;
import ai.factory.models.Model;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.Action;
import ai.factory.serving.ModelImportJob;
import ai.factory.serving.ModelImports;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.util.Optional;

/**
 * Bedrock's custom model import: CreateModelImportJob, GetModelImportJob, ListModelImportJobs
 * ({@code /model-import-jobs}) and GetImportedModel, ListImportedModels, DeleteImportedModel
 * ({@code /imported-models}). An imported model is the registry model {@code imported/NAME}; its ARN,
 * {@code arn:aws:bedrock:…:imported-model/imported/NAME}, is a model id the runtime accepts.
 */
public final class ModelImportResource implements Routes {
    private final ModelImports imports;
    private final ModelRegistry registry;

    private final Access access;

    public ModelImportResource(ModelImports imports, ModelRegistry registry, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.imports = requireNonNull(imports, "imports is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/model-import-jobs", Action.IMPORT_MODEL, Contract.of(
                "CreateModelImportJob: import a model file under models.importRoot and deploy it", CreateJob.class,
                CreatedJob.class), this::createJob);
        routes.get("/model-import-jobs", Action.READ_MODEL, Contract.of("ListModelImportJobs", null,
                JobSummaries.class), this::listJobs);
        routes.get("/model-import-jobs/{jobIdentifier}", Action.READ_MODEL, Contract.of("GetModelImportJob", null,
                Job.class), this::getJob);
        routes.get("/imported-models", Action.READ_MODEL, Contract.of("ListImportedModels", null,
                ModelSummaries.class), this::listModels);
        routes.get("/imported-models/{modelIdentifier}", Action.READ_MODEL, Contract.of("GetImportedModel", null,
                ImportedModel.class), this::getModel);
        routes.delete("/imported-models/{modelIdentifier}", Action.DELETE_MODEL, Contract.of(
                "DeleteImportedModel: deletes its deployment, then the model", null, ModelImport.Deleted.class),
                this::deleteModel);
    }

    private void createJob(Context ctx) {
        CreateJob body = WireJson.read(ctx.bodyAsBytes(), CreateJob.class);
        String jobName = required(body.jobName(), "jobName");
        if (jobName.isBlank() || jobName.length() > 63) {
            throw FactoryException.invalidParam("jobName", "'jobName' must be 1 to 63 characters");
        }
        String importedModelName = required(body.importedModelName(), "importedModelName");
        if (body.modelDataSource() == null || body.modelDataSource().s3DataSource() == null) {
            throw FactoryException.invalidParam("modelDataSource",
                    "'modelDataSource.s3DataSource.s3Uri' is required: the model file or folder to import");
        }
        String uri = required(body.modelDataSource().s3DataSource().s3Uri(), "s3Uri");
        // A new version of an existing imported model goes to that model's project: only its own may add one.
        if (!importedModelName.contains("/") && !importedModelName.isBlank()) {
            registry.find(new ModelName(ModelImports.NAMESPACE, importedModelName))
                    .ifPresent(m -> access.require(ctx, Action.IMPORT_MODEL, Access.resource(m),
                            () -> ModelImports.nameTaken(importedModelName)));
        }
        ModelImportJob job = imports.create(jobName, importedModelName, uri, Authentication.principal(ctx));
        ctx.status(201).json(new CreatedJob(jobArn(job)));
    }

    private static String required(String value, String field) {
        if (value == null) {
            throw FactoryException.invalidParam(field, "'" + field + "' is required");
        }
        return value;
    }

    private void getJob(Context ctx) {
        String id = BedrockArns.resourceId(ctx.pathParam("jobIdentifier"), "model-import-job");
        ModelImportJob j = imports.get(id);
        if (!visible(ctx, j)) {
            // Someone else's job whose model the caller may not read: as if there were none.
            throw ModelImports.notFound(id).asDenial();
        }
        ctx.json(job(j));
    }

    private void listJobs(Context ctx) {
        ctx.json(new JobSummaries(imports.list().stream().filter(j -> visible(ctx, j)).map(j -> new JobSummary(
                jobArn(j), j.jobName(), status(j), j.modifiedAt().toString(), j.createdAt().toString(),
                j.endedAt().map(Object::toString).orElse(null), importedModelArn(j), j.model().model()))
                .toList()));
    }

    private static Job job(ModelImportJob j) {
        return new Job(jobArn(j), j.jobName(), j.model().model(), importedModelArn(j), DataSource.of(j.sourceUri()),
                status(j), j.failureMessage(), j.createdAt().toString(), j.modifiedAt().toString(),
                j.endedAt().map(Object::toString).orElse(null));
    }

    /** The model a job made, once it completed; null (left out) before. */
    private static @Nullable String importedModelArn(ModelImportJob j) {
        return j.status() == ModelImportJob.Status.COMPLETED ? modelArn(j.model()) : null;
    }

    private void listModels(Context ctx) {
        ctx.json(new ModelSummaries(registry.list().stream()
                .filter(m -> m.name().namespace().equals(ModelImports.NAMESPACE))
                .filter(m -> access.allows(ctx, Action.READ_MODEL, Access.resource(m)))
                .map(m -> new ModelSummary(modelArn(m.name()), m.name().model(), m.createdAt().toString(),
                        instructSupported(m.latest()), architecture(m.latest()).orElse(null)))
                .toList()));
    }

    private void getModel(Context ctx) {
        String identifier = ctx.pathParam("modelIdentifier");
        Model model = importedModel(identifier);
        access.require(ctx, Action.READ_MODEL, Access.resource(model), () -> noImportedModel(identifier));
        Optional<ModelImportJob> job = imports.lastFor(model.name());
        ctx.json(new ImportedModel(modelArn(model.name()), model.name().model(),
                job.map(ModelImportJob::jobName).orElse(null), job.map(ModelImportResource::jobArn).orElse(null),
                job.map(j -> DataSource.of(j.sourceUri())).orElse(null), model.createdAt().toString(),
                architecture(model.latest()).orElse(null), instructSupported(model.latest())));
    }

    private void deleteModel(Context ctx) {
        String identifier = ctx.pathParam("modelIdentifier");
        Model model = importedModel(identifier);
        access.require(ctx, Action.DELETE_MODEL, Access.resource(model), () -> noImportedModel(identifier));
        imports.deleteModel(model.name());
        ctx.json(new ModelImport.Deleted());
    }

    /** An imported model by its ARN or its name (with or without the {@code imported/} namespace). */
    private Model importedModel(String identifier) {
        String id = BedrockArns.resourceId(identifier, "imported-model");
        String name = id.startsWith(ModelImports.NAMESPACE + "/") ? id.substring(ModelImports.NAMESPACE.length() + 1) : id;
        Optional<Model> model = name.contains("/") ? Optional.empty()
                : registry.find(new ModelName(ModelImports.NAMESPACE, name));
        return model.orElseThrow(() -> noImportedModel(identifier));
    }

    private static FactoryException noImportedModel(String identifier) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no imported model '" + identifier
                + "'; ListImportedModels shows them");
    }

    /** A job is shown to whoever started it and to those who may read the model it made. */
    private boolean visible(Context ctx, ModelImportJob j) {
        return j.createdBy().equals(access.caller(ctx).id()) || access.allowsModel(ctx, Action.READ_MODEL, j.model());
    }

    private static String jobArn(ModelImportJob j) {
        return BedrockArns.of("model-import-job", j.id());
    }

    private static String modelArn(ModelName model) {
        return BedrockArns.of("imported-model", model.toString());
    }

    private static String status(ModelImportJob j) {
        return switch (j.status()) {
            case IN_PROGRESS -> "InProgress";
            case COMPLETED -> "Completed";
            case FAILED -> "Failed";
        };
    }

    private static boolean instructSupported(ModelVersion v) {
        return v.metadata().containsKey("chatTemplate");
    }

    private static Optional<String> architecture(ModelVersion v) {
        return v.metadata().get("architecture") instanceof String s ? Optional.of(s) : Optional.empty();
    }
}
