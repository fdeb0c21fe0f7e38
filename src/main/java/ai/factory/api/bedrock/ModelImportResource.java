package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.models.Model;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.Action;
import ai.factory.serving.ModelImportJob;
import ai.factory.serving.ModelImports;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
        routes.post("/model-import-jobs", Action.IMPORT_MODEL, this::createJob);
        routes.get("/model-import-jobs", Action.READ_MODEL, this::listJobs);
        routes.get("/model-import-jobs/{jobIdentifier}", Action.READ_MODEL, this::getJob);
        routes.get("/imported-models", Action.READ_MODEL, this::listModels);
        routes.get("/imported-models/{modelIdentifier}", Action.READ_MODEL, this::getModel);
        routes.delete("/imported-models/{modelIdentifier}", Action.DELETE_MODEL, this::deleteModel);
    }

    private void createJob(Context ctx) {
        JsonNode body = JsonBodies.object(ctx);
        String jobName = JsonBodies.requiredString(body, "jobName");
        if (jobName.isBlank() || jobName.length() > 63) {
            throw FactoryException.invalidParam("jobName", "'jobName' must be 1 to 63 characters");
        }
        String importedModelName = JsonBodies.requiredString(body, "importedModelName");
        JsonNode s3 = body.path("modelDataSource").path("s3DataSource");
        if (!s3.isObject()) {
            throw FactoryException.invalidParam("modelDataSource",
                    "'modelDataSource.s3DataSource.s3Uri' is required: the model file or folder to import");
        }
        String uri = JsonBodies.requiredString(s3, "s3Uri");
        // A new version of an existing imported model goes to that model's project: only its own may add one.
        if (!importedModelName.contains("/") && !importedModelName.isBlank()) {
            registry.find(new ModelName(ModelImports.NAMESPACE, importedModelName))
                    .ifPresent(m -> access.require(ctx, Action.IMPORT_MODEL, Access.resource(m)));
        }
        ModelImportJob job = imports.create(jobName, importedModelName, uri, Authentication.principal(ctx));
        ctx.status(201).json(Map.of("jobArn", jobArn(job)));
    }

    private void getJob(Context ctx) {
        ModelImportJob j = imports.get(BedrockArns.resourceId(ctx.pathParam("jobIdentifier"), "model-import-job"));
        if (!visible(ctx, j)) {
            access.model(ctx, Action.READ_MODEL, j.model());
        }
        ctx.json(job(j));
    }

    private void listJobs(Context ctx) {
        ctx.json(Map.of("modelImportJobSummaries", imports.list().stream().filter(j -> visible(ctx, j)).map(j -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("jobArn", jobArn(j));
            m.put("jobName", j.jobName());
            m.put("status", status(j));
            m.put("lastModifiedTime", j.modifiedAt().toString());
            m.put("creationTime", j.createdAt().toString());
            j.endedAt().ifPresent(t -> m.put("endTime", t.toString()));
            if (j.status() == ModelImportJob.Status.COMPLETED) {
                m.put("importedModelArn", modelArn(j.model()));
            }
            m.put("importedModelName", j.model().model());
            return m;
        }).toList()));
    }

    private static Map<String, Object> job(ModelImportJob j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jobArn", jobArn(j));
        m.put("jobName", j.jobName());
        m.put("importedModelName", j.model().model());
        if (j.status() == ModelImportJob.Status.COMPLETED) {
            m.put("importedModelArn", modelArn(j.model()));
        }
        m.put("modelDataSource", dataSource(j.sourceUri()));
        m.put("status", status(j));
        if (j.failureMessage() != null) {
            m.put("failureMessage", j.failureMessage());
        }
        m.put("creationTime", j.createdAt().toString());
        m.put("lastModifiedTime", j.modifiedAt().toString());
        j.endedAt().ifPresent(t -> m.put("endTime", t.toString()));
        return m;
    }

    private void listModels(Context ctx) {
        List<Map<String, Object>> models = registry.list().stream()
                .filter(m -> m.name().namespace().equals(ModelImports.NAMESPACE))
                .filter(m -> access.allows(ctx, Action.READ_MODEL, Access.resource(m)))
                .map(m -> {
                    Map<String, Object> s = new LinkedHashMap<>();
                    s.put("modelArn", modelArn(m.name()));
                    s.put("modelName", m.name().model());
                    s.put("creationTime", m.createdAt().toString());
                    s.put("instructSupported", instructSupported(m.latest()));
                    architecture(m.latest()).ifPresent(a -> s.put("modelArchitecture", a));
                    return s;
                })
                .toList();
        ctx.json(Map.of("modelSummaries", models));
    }

    private void getModel(Context ctx) {
        Model model = importedModel(ctx.pathParam("modelIdentifier"));
        access.require(ctx, Action.READ_MODEL, Access.resource(model));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("modelArn", modelArn(model.name()));
        m.put("modelName", model.name().model());
        imports.lastFor(model.name()).ifPresent(j -> {
            m.put("jobName", j.jobName());
            m.put("jobArn", jobArn(j));
            m.put("modelDataSource", dataSource(j.sourceUri()));
        });
        m.put("creationTime", model.createdAt().toString());
        architecture(model.latest()).ifPresent(a -> m.put("modelArchitecture", a));
        m.put("instructSupported", instructSupported(model.latest()));
        ctx.json(m);
    }

    private void deleteModel(Context ctx) {
        Model model = importedModel(ctx.pathParam("modelIdentifier"));
        access.require(ctx, Action.DELETE_MODEL, Access.resource(model));
        imports.deleteModel(model.name());
        ctx.json(Map.of());
    }

    /** An imported model by its ARN or its name (with or without the {@code imported/} namespace). */
    private Model importedModel(String identifier) {
        String id = BedrockArns.resourceId(identifier, "imported-model");
        String name = id.startsWith(ModelImports.NAMESPACE + "/") ? id.substring(ModelImports.NAMESPACE.length() + 1) : id;
        Optional<Model> model = name.contains("/") ? Optional.empty()
                : registry.find(new ModelName(ModelImports.NAMESPACE, name));
        return model.orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "no imported model '" + identifier
                + "'; ListImportedModels shows them"));
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

    private static Map<String, Object> dataSource(String uri) {
        return Map.of("s3DataSource", Map.of("s3Uri", uri));
    }

    private static boolean instructSupported(ModelVersion v) {
        return v.metadata().containsKey("chatTemplate");
    }

    private static Optional<String> architecture(ModelVersion v) {
        return v.metadata().get("architecture") instanceof String s ? Optional.of(s) : Optional.empty();
    }
}
