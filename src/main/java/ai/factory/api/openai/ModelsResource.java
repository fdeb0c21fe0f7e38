package ai.factory.api.openai;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.openai.ModelObject;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import io.javalin.http.Context;
import java.util.List;
import java.util.function.Supplier;

/** OpenAI's {@code GET /v1/models}: the models that are deployed and ready. */
public final class ModelsResource implements Routes {
    private final Deployments deployments;
    private final ModelRegistry registry;

    private final Access access;

    public ModelsResource(Deployments deployments, ModelRegistry registry, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/v1/models", Action.READ_MODEL, Contract.of("List the deployed, ready models the caller may use",
                null, ModelObject.ModelList.class), this::list);
        routes.get("/v1/models/<id>", Action.READ_MODEL, Contract.of("Retrieve a deployed, ready model", null,
                ModelObject.class), this::retrieve);
    }

    private void list(Context ctx) {
        List<ModelObject> data = deployments.ready().stream()
                .map(Deployment::model).distinct()
                .filter(m -> access.allowsModel(ctx, Action.READ_MODEL, m))
                .map(this::entry)
                .toList();
        ctx.json(ModelObject.ModelList.of(data));
    }

    private void retrieve(Context ctx) {
        // Clients encode the slash of namespace/model (%2F) or not; both arrive here decoded.
        ModelName name = ModelName.parse(java.net.URLDecoder.decode(ctx.pathParam("id"),
                java.nio.charset.StandardCharsets.UTF_8));
        Supplier<FactoryException> absent = () -> new FactoryException(ErrorCode.NOT_FOUND, "the model '" + name
                + "' does not exist or is not deployed");
        boolean ready = deployments.ready().stream().anyMatch(d -> d.model().equals(name));
        if (!ready) {
            throw absent.get();
        }
        access.model(ctx, Action.READ_MODEL, name, absent);
        ctx.json(entry(name));
    }

    private ModelObject entry(ModelName name) {
        var model = registry.get(name);
        return ModelObject.of(name.toString(), model.createdAt().getEpochSecond(), model.project());
    }
}
