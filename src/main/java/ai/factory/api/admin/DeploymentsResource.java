package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Routes;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import io.javalin.config.RoutesConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/** What is deployed on this node: {@code GET /api/v1/deployments}. */
public final class DeploymentsResource implements Routes {
    private final Deployments deployments;

    public DeploymentsResource(Deployments deployments) {
        this.deployments = requireNonNull(deployments, "deployments is null");
    }

    @Override
    public void addTo(RoutesConfig routes) {
        routes.get("/api/v1/deployments", ctx -> ctx.json(Map.of("deployments",
                deployments.list().stream().map(DeploymentsResource::deployment).toList())));
    }

    static Map<String, Object> deployment(Deployment d) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", d.id());
        out.put("model", d.model().toString());
        out.put("version", d.version());
        out.put("state", d.state().id());
        out.put("reason", d.reason());
        out.put("replicas", d.replicas());
        out.put("createdAt", d.createdAt());
        return out;
    }
}
