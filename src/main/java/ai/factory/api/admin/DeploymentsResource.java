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
                JsonBodies.optionalInt(body, "queue").orElse(DeploymentSpec.DEFAULT_QUEUE),
                gpuLayers(body));
        ctx.status(202).json(deployment(deployments.deploy(model, spec, by)));
    }

    /** {@code "gpuLayers"}: absent, null or {@code "auto"} for the plan's choice, else a whole number of layers. */
    private static int gpuLayers(JsonNode body) {
        JsonNode v = body.get("gpuLayers");
        if (v != null && v.isTextual()) {
            if (v.asText().equals("auto")) {
                return DeploymentSpec.GPU_LAYERS_AUTO;
            }
            throw ai.factory.FactoryException.invalidParam("gpuLayers",
                    "'gpuLayers' must be \"auto\" or a whole number of layers, not '" + v.asText() + "'");
        }
        java.util.Optional<Integer> given = JsonBodies.optionalInt(body, "gpuLayers");
        if (given.isEmpty()) {
            return DeploymentSpec.GPU_LAYERS_AUTO;
        }
        int layers = given.get();
        if (layers < 0) {
            throw ai.factory.FactoryException.invalidParam("gpuLayers",
                    "'gpuLayers' must be \"auto\", 0 (CPU only) or a positive number of layers, not " + layers);
        }
        return layers;
    }

    /** Where each replica runs, as the API writes it. */
    static java.util.List<Map<String, Object>> placements(Deployments deployments, String id) {
        java.util.List<Map<String, Object>> out = new java.util.ArrayList<>();
        var all = deployments.placements(id);
        for (int i = 0; i < all.size(); i++) {
            var p = all.get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("replica", i);
            m.put("device", p.onGpu() ? "gpu" : "cpu");
            m.put("gpuLayers", p.gpuLayers() == ai.factory.serving.ReplicaPlacement.ALL_LAYERS ? "all" : p.gpuLayers());
            m.put("gpus", p.gpus());
            m.put("layersPerGpu", p.layersPerGpu());
            m.put("bytesPerGpu", p.bytesPerGpu());
            out.add(m);
        }
        return out;
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
        out.put("gpuLayers", d.spec().gpuLayers() == DeploymentSpec.GPU_LAYERS_AUTO ? "auto" : d.spec().gpuLayers());
        out.put("placements", placements(deployments, d.id()));
        out.put("createdAt", d.createdAt());
        var load = deployments.activity(d.id());
        out.put("activeRequests", load.active());
        out.put("waitingRequests", load.waiting());
        return out;
    }
}
