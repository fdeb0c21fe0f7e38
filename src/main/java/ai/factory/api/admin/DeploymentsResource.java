package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.models.ModelRef;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Deployments: {@code /api/v1/deployments}. Creating one answers 202 at once; the deployment loads in the
 * background and its state moves from pending through loading to ready or failed (with the reason).
 */
public final class DeploymentsResource implements Routes {
    private final Deployments deployments;

    private final Access access;

    public DeploymentsResource(Deployments deployments, Access access) {
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.access = requireNonNull(access, "access is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/deployments", Action.READ_DEPLOYMENT, ctx -> ctx.json(Map.of("deployments",
                deployments.list().stream().filter(d -> access.allowsDeployment(ctx, Action.READ_DEPLOYMENT, d))
                        .map(this::deployment).toList())));
        routes.post("/api/v1/deployments", Action.DEPLOY, this::create);
        routes.get("/api/v1/deployments/{id}", Action.READ_DEPLOYMENT, ctx -> {
            Deployment d = deployments.get(ctx.pathParam("id"));
            access.deployment(ctx, Action.READ_DEPLOYMENT, d);
            ctx.json(deployment(d));
        });
        routes.delete("/api/v1/deployments/{id}", Action.UNDEPLOY, ctx -> {
            access.deployment(ctx, Action.UNDEPLOY, deployments.get(ctx.pathParam("id")));
            ctx.json(deployment(deployments.delete(ctx.pathParam("id"))));
        });
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        JsonNode body = JsonBodies.object(ctx);
        ModelRef model = ModelRef.parse(JsonBodies.requiredString(body, "model"));
        access.model(ctx, Action.DEPLOY, model.name());
        DeploymentSpec spec = new DeploymentSpec(
                JsonBodies.optionalInt(body, "replicas").orElse(1),
                JsonBodies.optionalInt(body, "parallel").orElse(1),
                JsonBodies.optionalInt(body, "context").orElse(0),
                JsonBodies.optionalInt(body, "threads").orElse(0),
                JsonBodies.optionalInt(body, "queue").orElse(DeploymentSpec.DEFAULT_QUEUE));
        ctx.status(202).json(deployment(deployments.deploy(model, spec, by)));
    }

    private Map<String, Object> deployment(Deployment d) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", d.id());
        out.put("project", d.project());
        out.put("model", d.model().toString());
        out.put("version", d.version());
        out.put("state", d.state().id());
        out.put("reason", d.reason());
        out.put("replicas", d.spec().replicas());
        out.put("parallel", d.spec().parallel());
        out.put("context", d.spec().contextLength());
        out.put("threads", d.spec().threads());
        out.put("queue", d.spec().queue());
        out.put("createdAt", d.createdAt());
        var load = deployments.activity(d.id());
        out.put("activeRequests", load.active());
        out.put("waitingRequests", load.waiting());
        return out;
    }
}
