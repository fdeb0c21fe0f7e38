package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.DeploymentWire;
import ai.factory.api.codec.admin.DeploymentWire.CreateDeployment;
import ai.factory.api.codec.admin.DeploymentWire.DeploymentList;
import ai.factory.api.codec.admin.DeploymentWire.Placement;
import ai.factory.engine.Engine;
import ai.factory.engine.TextEngine;
import ai.factory.models.ModelRef;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.DeploymentState;
import ai.factory.serving.Deployments;
import ai.factory.serving.ReplicaPlacement;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

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
        routes.get("/api/v1/deployments", Action.READ_DEPLOYMENT,
                Contract.of("List deployments with their state and load", null, DeploymentList.class),
                ctx -> ctx.json(new DeploymentList(deployments.list().stream()
                        .filter(d -> access.allowsDeployment(ctx, Action.READ_DEPLOYMENT, d))
                        .map(this::deployment).toList())));
        routes.post("/api/v1/deployments", Action.DEPLOY,
                Contract.of("Deploy a model version (answers 202; it then loads in the background)",
                        CreateDeployment.class, DeploymentWire.Deployment.class), this::create);
        routes.get("/api/v1/deployments/{id}", Action.READ_DEPLOYMENT,
                Contract.of("Show a deployment", null, DeploymentWire.Deployment.class), ctx -> {
            Deployment d = deployments.get(ctx.pathParam("id"));
            access.deployment(ctx, Action.READ_DEPLOYMENT, d);
            ctx.json(deployment(d));
        });
        routes.patch("/api/v1/deployments/{id}", Action.DEPLOY, Contract.of("Scale a ready deployment: new replicas "
                + "load in the background, leaving ones finish their calls first (answers 202)",
                DeploymentWire.ScaleDeployment.class, DeploymentWire.Deployment.class), this::scale);
        routes.delete("/api/v1/deployments/{id}", Action.UNDEPLOY,
                Contract.of("Delete a deployment, unloading it", null, DeploymentWire.Deployment.class), ctx -> {
            access.deployment(ctx, Action.UNDEPLOY, deployments.get(ctx.pathParam("id")));
            ctx.json(deployment(deployments.delete(ctx.pathParam("id"))));
        });
    }

    private void scale(Context ctx) {
        JsonNode tree = WireJson.tree(ctx.bodyAsBytes());
        tree.fieldNames().forEachRemaining(field -> {
            if (!DeploymentWire.ScaleDeployment.FIELDS.contains(field)) {
                throw FactoryException.invalidParam(field, "'" + field + "' can't be changed on a deployment; "
                        + "what can is: " + String.join(", ", DeploymentWire.ScaleDeployment.FIELDS)
                        + " (deploy again for other settings)");
            }
        });
        int replicas = WireJson.bind(tree, DeploymentWire.ScaleDeployment.class).replicas();
        Deployment d = deployments.get(ctx.pathParam("id"));
        access.deployment(ctx, Action.DEPLOY, d);
        ctx.status(202).json(deployment(deployments.scale(d.id(), replicas)));
    }

    private void create(Context ctx) {
        var by = Authentication.principal(ctx);
        CreateDeployment body = WireJson.read(ctx.bodyAsBytes(), CreateDeployment.class);
        ModelRef model = ModelRef.parse(body.model());
        // Another project's model is not found, whatever else the request says.
        access.model(ctx, Action.DEPLOY, model.name());
        int gpuLayers = body.gpuLayerCount();
        int stepTokens = body.stepTokenCount();
        DeploymentSpec spec = new DeploymentSpec(
                Objects.requireNonNullElse(body.replicas(), 1),
                Objects.requireNonNullElse(body.parallel(), 1),
                Objects.requireNonNullElse(body.context(), 0),
                Objects.requireNonNullElse(body.threads(), 0),
                Objects.requireNonNullElse(body.queue(), DeploymentSpec.DEFAULT_QUEUE),
                gpuLayers == DeploymentWire.GPU_LAYERS_AUTO ? DeploymentSpec.GPU_LAYERS_AUTO : gpuLayers,
                stepTokens == DeploymentWire.STEP_TOKENS_AUTO ? DeploymentSpec.STEP_TOKENS_AUTO : stepTokens,
                body.kvCacheType(),
                Objects.requireNonNullElse(body.prefixCache(), 0),
                Objects.requireNonNullElse(body.priority(), 0));
        ctx.status(202).json(deployment(deployments.deploy(model, spec, by)));
    }

    /**
     * Where each replica runs, as the API writes it: as this machine placed it, or, for a replica on a worker (on a
     * control plane), the worker and the GPUs it reported the replica holds.
     */
    static List<Placement> placements(Deployments deployments, Deployment d) {
        List<Placement> out = new ArrayList<>();
        var all = deployments.placements(d.id());
        List<Engine> engines = d.state() instanceof DeploymentState.Ready r ? r.replicas() : List.of();
        for (int i = 0; i < all.size(); i++) {
            var p = all.get(i);
            var where = i < engines.size() ? ai.factory.cluster.WorkerEngines.where(engines.get(i))
                    : java.util.Optional.<ai.factory.cluster.WorkerEngines.Where>empty();
            if (where.isPresent()) {
                Integer gpus = where.get().gpus();
                boolean onGpus = gpus != null && gpus > 0;
                int asked = d.spec().gpuLayers();
                out.add(new Placement(i, onGpus ? "gpu" : "cpu",
                        !onGpus ? 0 : asked == DeploymentSpec.GPU_LAYERS_AUTO ? "auto" : asked, List.of(), List.of(), 0,
                        where.get().node(), gpus));
                continue;
            }
            out.add(new Placement(i, p.onGpu() ? "gpu" : "cpu",
                    p.gpuLayers() == ReplicaPlacement.ALL_LAYERS ? "all" : p.gpuLayers(), p.gpus(),
                    p.layersPerGpu(), p.bytesPerGpu()));
        }
        return out;
    }

    /**
     * Why each replica that does not serve does not ("replica 1: …"), read once per replica: a ready deployment with
     * any (one being placed again after its worker went down) is degraded, and its reason says how many serve.
     */
    private static List<String> notServing(List<Engine> replicas) {
        List<String> why = new ArrayList<>();
        for (int i = 0; i < replicas.size(); i++) {
            String reason = replicas.get(i) instanceof TextEngine t ? t.unavailableReason() : null;
            if (reason != null) {
                why.add("replica " + i + ": " + reason);
            }
        }
        return why;
    }

    private DeploymentWire.Deployment deployment(Deployment d) {
        var load = deployments.activity(d.id());
        DeploymentSpec spec = d.spec();
        List<Engine> ready = d.state() instanceof DeploymentState.Ready r ? r.replicas() : List.of();
        List<String> why = notServing(ready);
        int serving = ready.size() - why.size();
        String degraded = why.isEmpty() ? null : "degraded: " + serving + " of " + ready.size() + " replicas serve; "
                + String.join("; ", why);
        return new DeploymentWire.Deployment(d.id(), d.project(), d.model().toString(), d.version(), d.state().id(),
                degraded != null ? degraded : d.reason(), spec.replicas(), spec.parallel(), spec.contextLength(),
                spec.threads(), spec.queue(),
                spec.gpuLayers() == DeploymentSpec.GPU_LAYERS_AUTO ? "auto" : spec.gpuLayers(),
                spec.stepTokens() == DeploymentSpec.STEP_TOKENS_AUTO ? "auto" : spec.stepTokens(),
                spec.cacheType().id(), spec.prefixCache(), spec.priority(),
                placements(deployments, d), d.createdAt(), load.active(), load.waiting(),
                serving, load.generatedTokens());
    }
}
