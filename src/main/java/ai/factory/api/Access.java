package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.inference.InferencePipeline;
import ai.factory.models.Model;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.security.Principal;
import ai.factory.security.Resource;
import ai.factory.serving.Deployment;
import io.javalin.http.Context;
import java.util.Optional;

/**
 * Resource-level authorization for handlers: the caller of a request against a specific model, deployment or key,
 * decided by the same {@link Authorizer} that guards every route.
 */
public final class Access {
    private final Authorizer authorizer;
    private final ModelRegistry registry;

    public Access(Authorizer authorizer, ModelRegistry registry) {
        this.authorizer = requireNonNull(authorizer, "authorizer is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    public void require(Context ctx, Action action, Resource resource) {
        authorizer.require(Authentication.principal(ctx), action, resource);
    }

    public boolean allows(Context ctx, Action action, Resource resource) {
        return authorizer.isAllowed(Authentication.principal(ctx), action, resource);
    }

    /** The model, once the caller may do the action on it; NOT_FOUND when it does not exist. */
    public Model model(Context ctx, Action action, ModelName name) {
        Model model = registry.get(name);
        require(ctx, action, resource(model));
        return model;
    }

    /**
     * Checks that the caller may invoke the model a request names ({@code ns/model[:version]}); a model that is
     * not registered is left to the serving layer, which answers NOT_FOUND.
     */
    public void invoke(Context ctx, String model) {
        Optional<Model> found = registry.find(ModelRef.parse(model).name());
        found.ifPresent(m -> require(ctx, Action.INVOKE, resource(m)));
    }

    public boolean allowsModel(Context ctx, Action action, ModelName name) {
        return registry.find(name).map(m -> allows(ctx, action, resource(m))).orElse(false);
    }

    public void deployment(Context ctx, Action action, Deployment d) {
        require(ctx, action, resource(d));
    }

    public boolean allowsDeployment(Context ctx, Action action, Deployment d) {
        return allows(ctx, action, resource(d));
    }

    public Principal caller(Context ctx) {
        return Authentication.principal(ctx);
    }

    public static Resource.Model resource(Model m) {
        return InferencePipeline.resource(m);
    }

    public static Resource.Deployment resource(Deployment d) {
        return new Resource.Deployment(d.id(), d.project());
    }
}
