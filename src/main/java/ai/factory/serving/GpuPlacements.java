package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.capacity.AcceleratorSpec;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Decides where each replica of a deployment runs — all layers on GPUs, some, or none — from the capacity plan,
 * the node's free GPUs ({@link GpuAllocator}) and whether the engine's natives can offload at all, and holds the
 * GPUs it chose until {@link #release}. Each replica gets GPUs no other replica holds.
 */
public final class GpuPlacements {
    private final GpuAllocator allocator;
    private final BooleanSupplier gpuBackend;
    /** A control plane's: its GGUF replicas run on workers, each of which gives them its own GPUs. */
    private final boolean onWorkers;

    /** {@code gpuBackend}: whether the loaded llama.cpp natives have a GPU backend. */
    public GpuPlacements(GpuAllocator allocator, BooleanSupplier gpuBackend) {
        this(allocator, gpuBackend, false);
    }

    private GpuPlacements(GpuAllocator allocator, BooleanSupplier gpuBackend, boolean onWorkers) {
        this.allocator = requireNonNull(allocator, "allocator is null");
        this.gpuBackend = requireNonNull(gpuBackend, "gpuBackend is null");
        this.onWorkers = onWorkers;
    }

    /**
     * A control plane's placements, which hold no GPU: its GGUF replicas run on workers, the control plane choosing
     * the worker by its free GPUs and the worker the GPUs, so {@code gpuLayers} is not judged here.
     */
    public static GpuPlacements onWorkers() {
        return new GpuPlacements(new GpuAllocator(List.of()), () -> false, true);
    }

    public GpuAllocator allocator() {
        return allocator;
    }

    /**
     * Places every replica of a deployment, holding the GPUs chosen under {@code id#N}; INVALID_REQUEST with the
     * numbers (and nothing held) when explicitly asked GPU layers can't be had.
     */
    public List<ReplicaPlacement> reserve(String id, ModelVersion version, DeploymentSpec spec,
                                          Supplier<Footprint> footprint, long hostFree) {
        return reserve(id, version, spec, footprint, hostFree, ANY_GPUS, "");
    }

    /** {@link #placeGguf}'s {@code maxGpus} where nothing limits the GPUs a replica may take. */
    public static final int ANY_GPUS = -1;

    /**
     * As {@link #reserve(String, ModelVersion, DeploymentSpec, Supplier, long)}, the replicas together taking at most
     * {@code maxGpus} GPUs ({@link #ANY_GPUS}: any), what the accelerator quota of project {@code project} leaves: a
     * replica left none runs on the CPU ({@code gpuLayers} auto) or is refused (a layer count), saying so.
     */
    public List<ReplicaPlacement> reserve(String id, ModelVersion version, DeploymentSpec spec,
                                          Supplier<Footprint> footprint, long hostFree, int maxGpus, String project) {
        requireNonNull(id, "id is null");
        List<ReplicaPlacement> out = new ArrayList<>();
        int left = maxGpus;
        try {
            for (int i = 0; i < spec.replicas(); i++) {
                if (left == 0 && spec.gpuLayers() > 0 && version.format() == ModelFormat.GGUF && !onWorkers) {
                    throw FactoryException.invalidParam("gpuLayers", "'gpuLayers' " + spec.gpuLayers() + " asks for "
                            + "GPUs, but the accelerator quota of project " + project + " (" + maxGpus + " more now) "
                            + "leaves replica " + i + " none; raise it (factory quotas set " + project
                            + " --accelerators N) or leave gpuLayers out to run on the CPU");
                }
                ReplicaPlacement p = place(owner(id, i), version, spec, left, footprint, hostFree);
                out.add(p);
                if (left > 0) {
                    left = Math.max(0, left - p.gpus().size());
                }
            }
        } catch (RuntimeException e) {
            release(id, spec.replicas());
            throw e;
        }
        return List.copyOf(out);
    }

    /** Gives back the GPUs of a deployment's replicas. */
    public void release(String id, int replicas) {
        for (int i = 0; i < replicas; i++) {
            allocator.release(owner(id, i));
        }
    }

    static String owner(String id, int replica) {
        return id + "#" + replica;
    }

    /** The deployment of an {@link #owner} of GPUs. */
    static String deploymentOf(String owner) {
        int hash = owner.lastIndexOf('#');
        return hash < 0 ? owner : owner.substring(0, hash);
    }

    private ReplicaPlacement place(String owner, ModelVersion version, DeploymentSpec spec, int maxGpus,
                                   Supplier<Footprint> footprint, long hostFree) {
        if (version.format() != ModelFormat.GGUF || spec.gpuLayers() == 0) {
            if (spec.gpuLayers() > 0) {
                throw FactoryException.invalidParam("gpuLayers", "'gpuLayers' applies to GGUF models only");
            }
            return ReplicaPlacement.cpu(0);
        }
        if (onWorkers) {
            return ReplicaPlacement.cpu(0);
        }
        return placeGguf(owner, version.ref().toString(), spec.gpuLayers(), maxGpus, footprint, hostFree);
    }

    /**
     * Places one replica of a GGUF model named {@code model} on this node's GPUs as {@code gpuLayers} asks
     * ({@link DeploymentSpec#GPU_LAYERS_AUTO}: as many layers as the free GPUs take; 0: the CPU), holding the GPUs it
     * chose under {@code owner} until {@code allocator().release(owner)}. A worker places the replicas it is assigned
     * this way, on its own GPUs. INVALID_REQUEST, saying why, when an explicit layer count can't be had.
     */
    public ReplicaPlacement placeGguf(String owner, String model, int gpuLayers, Supplier<Footprint> footprint,
                                      long hostFree) {
        return placeGguf(owner, model, gpuLayers, ANY_GPUS, footprint, hostFree);
    }

    /**
     * As {@link #placeGguf(String, String, int, Supplier, long)} on at most {@code maxGpus} GPUs ({@link #ANY_GPUS}:
     * any; 0: the CPU), what the project's accelerator quota leaves the replica.
     */
    public ReplicaPlacement placeGguf(String owner, String model, int gpuLayers, int maxGpus,
                                      Supplier<Footprint> footprint, long hostFree) {
        if (gpuLayers == 0 || (maxGpus == 0 && gpuLayers < 0)) {
            return ReplicaPlacement.cpu(0);
        }
        if (maxGpus == 0) {
            throw FactoryException.invalidParam("gpuLayers", "'gpuLayers' " + gpuLayers + " asks for GPUs, but the "
                    + "project's accelerator quota leaves " + owner + " none; leave gpuLayers out to run on the CPU");
        }
        boolean explicit = gpuLayers > 0;
        if (!gpuBackend.getAsBoolean() || allocator.gpus().isEmpty()) {
            if (explicit) {
                throw FactoryException.invalidParam("gpuLayers", !gpuBackend.getAsBoolean()
                        ? ("'gpuLayers' %d asked, but the llama.cpp natives have no GPU backend that found a GPU "
                        + "(gpuOffload in GET /api/v1/fleet); start the factory with FACTORY_LLAMA_VARIANT=cuda (which "
                        + "needs the CUDA 13 runtime and a driver for it) or FACTORY_LLAMA_LIB_DIR set to a GPU build, "
                        + "or leave gpuLayers out to run on the CPU").formatted(gpuLayers)
                        : ("'gpuLayers' %d asked, but discovery found no GPU on this node (GET /api/v1/fleet); leave "
                        + "gpuLayers out to run on the CPU").formatted(gpuLayers));
            }
            return ReplicaPlacement.cpu(0);
        }
        boolean quotaLimits = maxGpus > 0 && maxGpus < allocator.freeGpus();
        int free = quotaLimits ? maxGpus : allocator.freeGpus();
        Footprint f = footprint.get();
        if (free == 0 && !explicit) {
            return ReplicaPlacement.cpu(f.total());
        }
        int layers;
        if (explicit) {
            layers = Math.min(gpuLayers, f.layers());
        } else {
            CapacityPlan plan = CapacityEstimator.plan(f, hostFree,
                    List.of(new AcceleratorSpec(allocator.kind(), allocator.capacityPerGpu(), free)));
            layers = switch (plan) {
                case CapacityPlan.FullOffload full -> f.layers();
                case CapacityPlan.PartialOffload partial -> partial.gpuLayers();
                case CapacityPlan.HostMemory host -> 0;
                case CapacityPlan.DoesNotFit none -> 0;
            };
        }
        Optional<CapacityEstimator.LayerSplit> split = layers == 0 ? Optional.empty()
                : CapacityEstimator.layerSplit(f, Math.max(1, free), allocator.capacityPerGpu(), layers);
        if (split.isEmpty()) {
            if (explicit) {
                throw FactoryException.invalidParam("gpuLayers", String.format(
                        "%d of %d layers of %s don't fit on %s %d free %s GPU(s) of %.1f MiB each (%d in all); "
                                + "lower gpuLayers, context or parallel, or leave gpuLayers out", layers, f.layers(),
                        model, quotaLimits ? "the project's accelerator quota's" : "this node's", free,
                        allocator.kind(), allocator.capacityPerGpu() / 1048576.0, allocator.gpus().size()));
            }
            return ReplicaPlacement.cpu(f.total());
        }
        CapacityEstimator.LayerSplit s = split.get();
        GpuAllocator.Result result = allocator.allocate(owner, s.layersPerDevice().size(), s.largestDevice());
        return switch (result) {
            case GpuAllocator.Result.Granted g -> new ReplicaPlacement(
                    layers == f.layers() ? ReplicaPlacement.ALL_LAYERS : layers, g.allocation().gpus(),
                    s.layersPerDevice(), s.largestDevice(), hostBytes(f, layers));
            case GpuAllocator.Result.Refused r -> {
                if (explicit) {
                    throw FactoryException.invalidParam("gpuLayers", "%s: %d layers of %s don't fit: %s"
                            .formatted(owner, layers, model, r.reason()));
                }
                yield ReplicaPlacement.cpu(f.total());
            }
        };
    }

    /** What stays in host memory with the last {@code offloaded} layers on GPUs. */
    private static long hostBytes(Footprint f, int offloaded) {
        if (offloaded >= f.layers()) {
            return f.hostWeights();
        }
        long bytes = f.hostWeights() + f.outputWeights() + f.compute();
        for (int i = 0; i < f.layers() - offloaded; i++) {
            bytes += f.layerWeights().get(i) + f.kvCachePerLayer();
        }
        return bytes;
    }
}
