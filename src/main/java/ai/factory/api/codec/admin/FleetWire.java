package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * {@code GET /api/v1/fleet}: the nodes with their CPUs, memory, accelerators and the deployments they serve. Written
 * by the server only: an accelerator's fields depend on its kind, and the command line reads this answer as a tree.
 */
public final class FleetWire {
    private FleetWire() {}

    public record Fleet(List<Node> nodes) {
        public Fleet {
            nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        }
    }

    public record Node(String name, Cpu cpu, Memory memory, List<NodeAccelerator> accelerators, GpuOffload gpuOffload,
                       List<String> warnings, List<Deployment> deployments) {
        public Node {
            requireNonNull(name, "name is null");
            accelerators = List.copyOf(requireNonNull(accelerators, "accelerators is null"));
            warnings = List.copyOf(requireNonNull(warnings, "warnings is null"));
            deployments = List.copyOf(requireNonNull(deployments, "deployments is null"));
        }
    }

    /** @param loadAverage the one-minute load average (runnable threads), null where the system does not say */
    public record Cpu(String model, int sockets, int cores, int threads, List<String> isaFeatures,
                      @Nullable Double loadAverage) {
        public Cpu {
            isaFeatures = List.copyOf(requireNonNull(isaFeatures, "isaFeatures is null"));
        }
    }

    /**
     * Host memory in bytes: the machine's total and available ({@code MemAvailable}), the site's {@code memory.limit}
     * (null: none), what is free for a new deployment or job, and what deployments and fine-tuning hold now.
     */
    public record Memory(long total, long available, @Nullable Long limit, long free, long heldByDeployments,
                         long heldByTraining) {}

    /**
     * An accelerator of the node, whether a deployment holds it, and which replica ({@code deployment/replica}) when
     * the caller may read that deployment; {@code null} when free or held by another project's deployment, whose id
     * is not the caller's to learn.
     */
    public record NodeAccelerator(@JsonUnwrapped Accelerator accelerator, boolean allocated,
                                  @Nullable String allocatedTo) {
        public NodeAccelerator {
            requireNonNull(accelerator, "accelerator is null");
        }
    }

    /** One accelerator: the common fields ({@code kind} … {@code memoryUsed}, in bytes), then those of its kind. */
    public sealed interface Accelerator {}

    /** @param memoryUsed null when the tool does not say */
    public record Nvidia(String kind, int index, String name, long memoryTotal, @Nullable Long memoryUsed, String uuid,
                         String computeCapability, String driverVersion, List<Mig> mig, @Nullable String nvlinkDomain)
            implements Accelerator {
        public Nvidia {
            mig = List.copyOf(requireNonNull(mig, "mig is null"));
        }
    }

    public record Neuron(String kind, int index, String name, long memoryTotal, @Nullable Long memoryUsed,
                         int neuronCores,
                         String pciAddress, List<Integer> connectedTo, int processes) implements Accelerator {
        public Neuron {
            connectedTo = List.copyOf(requireNonNull(connectedTo, "connectedTo is null"));
        }
    }

    public record Amd(String kind, int index, String name, long memoryTotal, @Nullable Long memoryUsed,
                      @Nullable String target,
                      int computeUnits, String pciAddress, String driverVersion) implements Accelerator {}

    /** A MIG instance of an NVIDIA GPU. */
    public record Mig(int index, int gpuInstanceId, int computeInstanceId, int multiprocessors, long memoryTotal,
                      long memoryUsed) {}

    /** Whether the engine's natives can offload to GPUs, and the GPUs the allocator hands out. */
    public record GpuOffload(boolean supported, String detail, String gpuKind, int gpus, int freeGpus,
                             long capacityPerGpu) {}

    /** A deployment served by the node, with where its replicas run. */
    public record Deployment(String id, String model, int version, String state, int replicas,
                             List<DeploymentWire.Placement> placements, long activeRequests) {
        public Deployment {
            placements = List.copyOf(requireNonNull(placements, "placements is null"));
        }
    }
}
