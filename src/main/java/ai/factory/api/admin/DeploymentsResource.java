package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Authentication;
import ai.factory.api.JsonBodies;
import ai.factory.api.Routes;
import ai.factory.models.ModelRef;
import ai.factory.serving.Deployment;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.Deployments;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Deployments: {@code /api/v1/deployments}. Creating one answers 202 at once; the deployment loads in the
 * background and its state moves from pending through loading to ready or failed (with the reason).
 */
public final class DeploymentsResource implements Routes {
    private final Deployments deployments;

    public DeploymentsResource(Deployments deployments) {
        this.deployments = requireNonNull(deployments, "deployments is null");
    }

    @Override
    public void addTo(RoutesConfig routes) {
        routes.get("/api/v1/deployments", ctx -> ctx.json(Map.of("deployments",
                deployments.list().stream().map(this::deployment).toList())));
        routes.post("/api/v1/deployments", this::create);
        routes.get("/api/v1/deployments/{id}", ctx -> ctx.json(deployment(deployments.get(ctx.pathParam("id")))));
        routes.delete("/api/v1/deployments/{id}", ctx -> ctx.json(deployment(
                deployments.delete(ctx.pathParam("id"), Authentication.principal(ctx)))));
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        by.requireAdmin("deploying a model");
        JsonNode body = JsonBodies.object(ctx);
        ModelRef model = ModelRef.parse(JsonBodies.requiredString(body, "model"));
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
