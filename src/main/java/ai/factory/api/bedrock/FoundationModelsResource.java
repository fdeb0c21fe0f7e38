package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import ai.factory.serving.ModelImports;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Bedrock's ListFoundationModels and GetFoundationModel ({@code GET /foundation-models[/{modelIdentifier}]}).
 * The factory's foundation models are those that can be invoked now: the models with a ready deployment, less
 * the imported ones, which Bedrock lists as imported models. Their {@code modelId} is the factory's model
 * name, which Converse and InvokeModel take as it is.
 */
public final class FoundationModelsResource implements Routes {
    private final Deployments deployments;
    private final ModelRegistry registry;

    private final Access access;

    public FoundationModelsResource(Deployments deployments, ModelRegistry registry, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/foundation-models", Action.READ_MODEL, this::list);
        routes.get("/foundation-models/{modelIdentifier}", Action.READ_MODEL, this::get);
    }

    private void list(Context ctx) {
        ctx.json(Map.of("modelSummaries", foundationModels().stream()
                .filter(d -> access.allowsModel(ctx, Action.READ_MODEL, d.model())).map(this::summary).toList()));
    }

    private void get(Context ctx) {
        String id = BedrockArns.resourceId(ctx.pathParam("modelIdentifier"), "foundation-model");
        Deployment d = foundationModels().stream().filter(x -> x.model().toString().equals(id)).findFirst()
                .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "no foundation model '" + id
                        + "'; ListFoundationModels shows the models deployed and ready"));
        access.model(ctx, Action.READ_MODEL, d.model());
        ctx.json(Map.of("modelDetails", summary(d)));
    }

    private List<Deployment> foundationModels() {
        return deployments.ready().stream()
                .filter(d -> !d.model().namespace().equals(ModelImports.NAMESPACE))
                .toList();
    }

    private Map<String, Object> summary(Deployment d) {
        ModelFormat format = registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version()))).format();
        boolean embedding = switch (format) {
            case ONNX -> true;
            case GGUF -> false;
        };
        String id = d.model().toString();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("modelArn", BedrockArns.of("foundation-model", id));
        m.put("modelId", id);
        m.put("modelName", d.model().model());
        m.put("providerName", d.model().namespace());
        m.put("inputModalities", List.of("TEXT"));
        m.put("outputModalities", List.of(embedding ? "EMBEDDING" : "TEXT"));
        m.put("responseStreamingSupported", !embedding);
        m.put("customizationsSupported", List.of());
        m.put("inferenceTypesSupported", List.of("ON_DEMAND"));
        m.put("modelLifecycle", Map.of("status", "ACTIVE"));
        return m;
    }
}
