package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.inference.InferencePipeline;
import ai.factory.models.Model;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.identity.Principal;
import ai.factory.security.Resource;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import io.javalin.http.Context;
import java.util.function.Supplier;

/**
 * Resource-level authorization for handlers: the caller of a request against a specific model, deployment or key,
 * decided by the same {@link Authorizer} that guards every route. A resource of another project that the caller may
 * not see answers exactly as a missing one ({@link Authorizer#require(Principal, Action, Resource, Supplier)}), so
 * each check that follows a lookup says what the lookup answers for a missing resource.
 */
public final class Access {
    private final Authorizer authorizer;
    private final ModelRegistry registry;

    public Access(Authorizer authorizer, ModelRegistry registry) {
        this.authorizer = requireNonNull(authorizer, "authorizer is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    /** A project-wide check made before anything is looked up (its answer cannot tell what exists). */
    public void require(Context ctx, Action action, Resource.Project project) {
        authorizer.require(Authentication.principal(ctx), action, project);
    }

    /** A check on a resource that was looked up; {@code asIfAbsent} is what a missing one of its kind answers. */
    public void require(Context ctx, Action action, Resource resource, Supplier<FactoryException> asIfAbsent) {
        authorizer.require(Authentication.principal(ctx), action, resource, asIfAbsent);
    }

    public boolean allows(Context ctx, Action action, Resource resource) {
        return authorizer.isAllowed(Authentication.principal(ctx), action, resource);
    }

    /** The model, once the caller may do the action on it; the registry's NOT_FOUND when it does not exist. */
    public Model model(Context ctx, Action action, ModelName name) {
        return model(ctx, action, name, () -> ModelRegistry.notFound(name));
    }

    /** The model, once the caller may do the action on it; {@code asIfAbsent} when it does not exist. */
    public Model model(Context ctx, Action action, ModelName name, Supplier<FactoryException> asIfAbsent) {
        Model model = registry.find(name).orElseThrow(asIfAbsent);
        require(ctx, action, resource(model), asIfAbsent);
        return model;
    }

    public boolean allowsModel(Context ctx, Action action, ModelName name) {
        return registry.find(name).map(m -> allows(ctx, action, resource(m))).orElse(false);
    }

    /** Checks a deployment that was looked up; one the caller may not see answers as {@link Deployments#get} does. */
    public void deployment(Context ctx, Action action, Deployment d) {
        require(ctx, action, resource(d), () -> Deployments.notFound(d.id()));
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
