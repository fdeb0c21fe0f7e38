package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Routes;
import ai.factory.fleet.Accelerator;
import ai.factory.fleet.AmdGpu;
import ai.factory.fleet.Discovery;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.MigInstance;
import ai.factory.fleet.NeuronDevice;
import ai.factory.fleet.NodeInventory;
import ai.factory.fleet.NvidiaGpu;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import io.javalin.config.RoutesConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The node inventory: {@code GET /api/v1/fleet} lists the nodes (this one, for now) with their CPUs, memory,
 * accelerators, discovery warnings and the deployments they serve. Any authenticated caller may read it.
 */
public final class FleetResource implements Routes {
    private final Discovery discovery;
    private final Deployments deployments;
    private final GpuAllocator gpus;
    private final Supplier<GpuOffloadStatus> offload;

    /** Whether the engine's natives can offload to GPUs, and one line saying so (or why not). */
    public record GpuOffloadStatus(boolean supported, String detail) {}

    public FleetResource(Discovery discovery, Deployments deployments, GpuAllocator gpus,
                         Supplier<GpuOffloadStatus> offload) {
        this.discovery = requireNonNull(discovery, "discovery is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.gpus = requireNonNull(gpus, "gpus is null");
        this.offload = requireNonNull(offload, "offload is null");
    }

    @Override
    public void addTo(RoutesConfig routes) {
        routes.get("/api/v1/fleet", ctx -> ctx.json(Map.of("nodes", List.of(node(discovery.inventory())))));
    }

    private Map<String, Object> node(NodeInventory n) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", n.nodeName());
        out.put("cpu", ordered("model", n.cpu().model(), "sockets", n.cpu().sockets(), "cores", n.cpu().cores(),
                "threads", n.cpu().threads(), "isaFeatures", n.cpu().isaFeatures()));
        out.put("memory", ordered("total", n.memoryTotalBytes(), "available", n.memoryAvailableBytes()));
        Map<String, String> heldBy = new java.util.HashMap<>();
        for (GpuAllocator.Allocation a : gpus.allocations()) {
            a.gpus().forEach(g -> heldBy.put(a.kind() + "/" + g, a.owner()));
        }
        out.put("accelerators", n.accelerators().stream().map(a -> {
            Map<String, Object> m = accelerator(a);
            m.put("allocatedTo", heldBy.get(a.kind().id() + "/" + a.index()));
            return m;
        }).toList());
        GpuOffloadStatus status = offload.get();
        out.put("gpuOffload", ordered("supported", status.supported(), "detail", status.detail(),
                "gpuKind", gpus.kind(), "gpus", gpus.gpus().size(), "freeGpus", gpus.freeGpus(),
                "capacityPerGpu", gpus.capacityPerGpu()));
        out.put("warnings", n.discoveryWarnings());
        out.put("deployments", deployments.list().stream().map(this::deployment).toList());
        return out;
    }

    /** An accelerator as the API writes it: the common fields, then those of its kind. */
    static Map<String, Object> accelerator(Accelerator a) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("kind", a.kind().id());
        out.put("index", a.index());
        out.put("name", a.name());
        out.put("memoryTotal", a.memoryTotalBytes());
        out.put("memoryUsed", a.memoryUsedBytes().isPresent() ? a.memoryUsedBytes().getAsLong() : null);
        switch (a) {
            case NvidiaGpu g -> {
                out.put("uuid", g.uuid());
                out.put("computeCapability", g.computeCapability());
                out.put("driverVersion", g.driverVersion());
                out.put("mig", g.mig().stream().map(FleetResource::mig).toList());
                out.put("nvlinkDomain", g.nvlinkDomain().orElse(null));
            }
            case NeuronDevice d -> {
                out.put("neuronCores", d.neuronCores());
                out.put("pciAddress", d.pciAddress());
                out.put("connectedTo", d.connectedTo());
                out.put("processes", d.processes());
            }
            case AmdGpu g -> {
                out.put("target", g.target());
                out.put("computeUnits", g.computeUnits());
                out.put("pciAddress", g.pciAddress());
                out.put("driverVersion", g.driverVersion());
            }
        }
        return out;
    }

    private static Map<String, Object> mig(MigInstance m) {
        return ordered("index", m.index(), "gpuInstanceId", m.gpuInstanceId(), "computeInstanceId",
                m.computeInstanceId(), "multiprocessors", m.multiprocessors(), "memoryTotal", m.memoryTotalBytes(),
                "memoryUsed", m.memoryUsedBytes());
    }

    /** A JSON object whose fields keep the order given (name, value, name, value, …). */
    private static Map<String, Object> ordered(Object... fields) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < fields.length; i += 2) {
            out.put((String) fields[i], fields[i + 1]);
        }
        return out;
    }

    private Map<String, Object> deployment(Deployment d) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", d.id());
        out.put("model", d.model().toString());
        out.put("version", d.version());
        out.put("state", d.state().id());
        out.put("replicas", d.spec().replicas());
        out.put("placements", DeploymentsResource.placements(deployments, d.id()));
        out.put("activeRequests", deployments.activity(d.id()).active());
        return out;
    }
}
