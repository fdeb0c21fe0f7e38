package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.FleetWire;
import ai.factory.fleet.Accelerator;
import ai.factory.fleet.AmdGpu;
import ai.factory.fleet.Discovery;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.HostMemory;
import ai.factory.fleet.MigInstance;
import ai.factory.fleet.NeuronDevice;
import ai.factory.fleet.NodeInventory;
import ai.factory.fleet.NvidiaGpu;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.util.HashMap;
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
    private final HostMemory memory;
    private final Supplier<GpuOffloadStatus> offload;

    private final Access access;

    /** Whether the engine's natives can offload to GPUs, and one line saying so (or why not). */
    public record GpuOffloadStatus(boolean supported, String detail) {}

    public FleetResource(Discovery discovery, Deployments deployments, GpuAllocator gpus, HostMemory memory,
                         Supplier<GpuOffloadStatus> offload, Access access) {
        this.memory = requireNonNull(memory, "memory is null");
        this.access = requireNonNull(access, "access is null");
        this.discovery = requireNonNull(discovery, "discovery is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.gpus = requireNonNull(gpus, "gpus is null");
        this.offload = requireNonNull(offload, "offload is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/fleet", Action.READ_FLEET, Contract.of(
                "The nodes with their CPUs, memory, accelerators and deployments", null, FleetWire.Fleet.class),
                ctx -> ctx.json(new FleetWire.Fleet(List.of(node(ctx, discovery.inventory())))));
    }

    private FleetWire.Node node(Context ctx, NodeInventory n) {
        Map<String, String> heldBy = new HashMap<>();
        for (GpuAllocator.Allocation a : gpus.allocations()) {
            a.gpus().forEach(g -> heldBy.put(a.kind() + "/" + g, a.owner()));
        }
        List<Deployment> visible = deployments.list().stream()
                .filter(d -> access.allowsDeployment(ctx, Action.READ_DEPLOYMENT, d)).toList();
        java.util.Set<String> visibleIds = visible.stream().map(Deployment::id).collect(java.util.stream.Collectors.toSet());
        GpuOffloadStatus status = offload.get();
        return new FleetWire.Node(n.nodeName(),
                new FleetWire.Cpu(n.cpu().model(), n.cpu().sockets(), n.cpu().cores(), n.cpu().threads(),
                        n.cpu().isaFeatures(), ai.factory.fleet.LoadAverage.oneMinute()),
                new FleetWire.Memory(n.memoryTotalBytes(), n.memoryAvailableBytes(),
                        memory.limit().isPresent() ? memory.limit().getAsLong() : null, memory.free(),
                        memory.heldByDeployments(), memory.heldByTraining()),
                n.accelerators().stream().map(a -> held(a, heldBy.get(a.kind().id() + "/" + a.index()), visibleIds))
                        .toList(),
                new FleetWire.GpuOffload(status.supported(), status.detail(), gpus.kind(), gpus.gpus().size(),
                        gpus.freeGpus(), gpus.capacityPerGpu()),
                n.discoveryWarnings(),
                visible.stream().map(this::deployment).toList());
    }

    /**
     * An accelerator with whether it is held, and by which replica ({@code deployment/replica}) only when the caller
     * may read that deployment: another project's deployment ids are not the caller's to learn.
     */
    static FleetWire.NodeAccelerator held(Accelerator a, @Nullable String holder,
                                          java.util.Set<String> readableDeployments) {
        boolean shown = holder != null && readableDeployments.contains(holder.split("/", 2)[0]);
        return new FleetWire.NodeAccelerator(accelerator(a), holder != null, shown ? holder : null);
    }

    /** An accelerator as the API writes it: the common fields, then those of its kind. */
    static FleetWire.Accelerator accelerator(Accelerator a) {
        String kind = a.kind().id();
        Long used = a.memoryUsedBytes().isPresent() ? a.memoryUsedBytes().getAsLong() : null;
        return switch (a) {
            case NvidiaGpu g -> new FleetWire.Nvidia(kind, a.index(), a.name(), a.memoryTotalBytes(), used, g.uuid(),
                    g.computeCapability(), g.driverVersion(), g.mig().stream().map(FleetResource::mig).toList(),
                    g.nvlinkDomain().orElse(null));
            case NeuronDevice d -> new FleetWire.Neuron(kind, a.index(), a.name(), a.memoryTotalBytes(), used,
                    d.neuronCores(), d.pciAddress(), d.connectedTo(), d.processes());
            case AmdGpu g -> new FleetWire.Amd(kind, a.index(), a.name(), a.memoryTotalBytes(), used, g.target(),
                    g.computeUnits(), g.pciAddress(), g.driverVersion());
        };
    }

    private static FleetWire.Mig mig(MigInstance m) {
        return new FleetWire.Mig(m.index(), m.gpuInstanceId(), m.computeInstanceId(), m.multiprocessors(),
                m.memoryTotalBytes(), m.memoryUsedBytes());
    }

    private FleetWire.Deployment deployment(Deployment d) {
        return new FleetWire.Deployment(d.id(), d.model().toString(), d.version(), d.state().id(), d.spec().replicas(),
                DeploymentsResource.placements(deployments, d), deployments.activity(d.id()).active());
    }
}
