package ai.factory.fleet.kubernetes;

import static java.util.Objects.requireNonNull;

import ai.factory.config.Units;
import ai.factory.fleet.placement.PlacementNode;
import ai.factory.fleet.placement.PlacementResult;
import ai.factory.fleet.placement.ReplicaRequest;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.NodeSelectorTermBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Placement on Kubernetes: what the placement engine needs to know about a cluster's nodes, read from their
 * {@link Node} objects, and what a placement decision becomes on a replica's {@link Pod} — accelerator resource
 * requests and a node affinity that holds it to the chosen node. The Kubernetes scheduler stays the executor: it
 * binds the pod, and the node's device plugin picks which devices it gets.
 *
 * <h2>What is read from a node</h2>
 * <ul>
 *   <li>how many accelerators of a kind it offers: {@code status.allocatable} of the kind's extended resource
 *       ({@code nvidia.com/gpu}, {@code amd.com/gpu}, {@code aws.amazon.com/neuron});</li>
 *   <li>memory per accelerator: the label {@value #MEMORY_LABEL} (a size such as {@code 80GiB}) where the site sets
 *       it, else the {@value #NVIDIA_MEMORY_LABEL} label (MiB) that NVIDIA's GPU feature discovery writes;</li>
 *   <li>interconnect domains: the label {@value #DOMAINS_LABEL}, domain sizes in device order joined by {@code -}
 *       (label values may not hold commas), e.g. {@code 4-4} for two NVLink islands of four; one domain of every
 *       device when absent;</li>
 *   <li>whether it takes work: not cordoned ({@code spec.unschedulable}) and its {@code Ready} condition
 *       {@code True}.</li>
 * </ul>
 * A node that offers none of the kind is left out silently; one that offers some but can't be read (no memory
 * label, a label that is not a size, domains that don't add up) is left out with the reason, so the operator can
 * fix its labels.
 */
public final class KubernetesPlacement {
    /** Memory of each accelerator on the node, a size such as {@code 80GiB}; set by the site. */
    public static final String MEMORY_LABEL = "ai.factory/accelerator-memory";
    /** Interconnect domain sizes in device order, joined by {@code -}, e.g. {@code 4-4}. */
    public static final String DOMAINS_LABEL = "ai.factory/interconnect-domains";
    /** GPU memory in MiB, as NVIDIA's GPU feature discovery labels nodes. */
    public static final String NVIDIA_MEMORY_LABEL = "nvidia.com/gpu.memory";
    /** On a replica's pod: the placement engine's replica id, so an eviction finds the pod to delete. */
    public static final String REPLICA_LABEL = "ai.factory/replica";
    /**
     * On a replica's pod, an annotation: the project that owns it (a project name may end in {@code -}, which a label
     * value may not).
     */
    public static final String PROJECT_ANNOTATION = "ai.factory/project";
    /** On a replica's pod: its placement priority (a higher one may evict lower ones). */
    public static final String PRIORITY_ANNOTATION = "ai.factory/priority";

    private static final long MIB = 1L << 20;

    private KubernetesPlacement() {}

    /** The extended resource a device plugin advertises for accelerators of {@code kind}. */
    public static String resourceName(String kind) {
        return switch (kind) {
            case "nvidia" -> "nvidia.com/gpu";
            case "amd" -> "amd.com/gpu";
            case "neuron" -> "aws.amazon.com/neuron";
            default -> throw new IllegalArgumentException("no Kubernetes resource is known for accelerators of kind '"
                    + kind + "'; known: nvidia, amd, neuron");
        };
    }

    /** The nodes the placement engine may use for {@code kind}, and those left out with why. */
    public record Nodes(List<PlacementNode> usable, Map<String, String> skipped) {
        public Nodes {
            usable = List.copyOf(usable);
            skipped = Map.copyOf(skipped);
        }
    }

    /** Reads {@code nodes} as placement nodes for accelerators of {@code kind}. */
    public static Nodes nodes(List<Node> nodes, String kind) {
        requireNonNull(nodes, "nodes is null");
        String resource = resourceName(kind);
        List<PlacementNode> usable = new ArrayList<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        for (Node node : nodes) {
            String name = node.getMetadata().getName();
            int devices = allocatable(node, resource);
            if (devices == 0) {
                continue;
            }
            try {
                if (Boolean.TRUE.equals(node.getSpec() == null ? null : node.getSpec().getUnschedulable())) {
                    throw new IllegalArgumentException("cordoned (spec.unschedulable)");
                }
                if (!ready(node)) {
                    throw new IllegalArgumentException("not Ready");
                }
                Map<String, String> labels = Optional.ofNullable(node.getMetadata().getLabels()).orElse(Map.of());
                usable.add(new PlacementNode(name, kind, devices, memoryPerDevice(labels),
                        domains(labels, devices)));
            } catch (IllegalArgumentException e) {
                skipped.put(name, e.getMessage());
            }
        }
        return new Nodes(usable, skipped);
    }

    /**
     * {@code template} made into the pod of {@code request} as {@code placed}: its first container requests (and is
     * limited to) the replica's accelerators, a required node affinity on the node's name holds it to the chosen
     * node, it tolerates the accelerator taint GPU node pools usually carry, and it carries the replica (label) and the
     * project and priority (annotations). Everything else in the template (image, command, volumes, its own tolerations) is kept.
     */
    public static Pod pod(Pod template, ReplicaRequest request, PlacementResult.Placed placed) {
        requireNonNull(template, "template is null");
        requireNonNull(request, "request is null");
        requireNonNull(placed, "placed is null");
        if (placed.replicaId() != request.id()) {
            throw new IllegalArgumentException("placement of replica " + placed.replicaId() + " given for replica "
                    + request.id());
        }
        if (template.getSpec() == null || template.getSpec().getContainers() == null
                || template.getSpec().getContainers().isEmpty()) {
            throw new IllegalArgumentException("the pod template has no container to give the accelerators to");
        }
        String resource = resourceName(request.kind());
        Quantity devices = new Quantity(Integer.toString(request.gpus()));
        List<Container> containers = new ArrayList<>(template.getSpec().getContainers());
        containers.set(0, new ContainerBuilder(containers.getFirst())
                .editOrNewResources()
                .addToRequests(resource, devices)
                .addToLimits(resource, devices)
                .endResources()
                .build());
        return new PodBuilder(template)
                .editOrNewMetadata()
                .addToLabels(REPLICA_LABEL, Long.toString(request.id()))
                .addToAnnotations(PROJECT_ANNOTATION, request.project())
                .addToAnnotations(PRIORITY_ANNOTATION, Integer.toString(request.priority()))
                .endMetadata()
                .editSpec()
                .withContainers(containers)
                .editOrNewAffinity()
                .editOrNewNodeAffinity()
                .editOrNewRequiredDuringSchedulingIgnoredDuringExecution()
                .withNodeSelectorTerms(new NodeSelectorTermBuilder()
                        .withMatchFields(new NodeSelectorRequirementBuilder()
                                .withKey("metadata.name").withOperator("In").withValues(placed.node()).build())
                        .build())
                .endRequiredDuringSchedulingIgnoredDuringExecution()
                .endNodeAffinity()
                .endAffinity()
                .addToTolerations(new TolerationBuilder().withKey(resource).withOperator("Exists")
                        .withEffect("NoSchedule").build())
                .endSpec()
                .build();
    }

    private static int allocatable(Node node, String resource) {
        if (node.getStatus() == null || node.getStatus().getAllocatable() == null) {
            return 0;
        }
        Quantity q = node.getStatus().getAllocatable().get(resource);
        if (q == null) {
            return 0;
        }
        try {
            return Quantity.getAmountInBytes(q).intValueExact();
        } catch (ArithmeticException | IllegalArgumentException e) {
            return 0;
        }
    }

    private static boolean ready(Node node) {
        if (node.getStatus() == null || node.getStatus().getConditions() == null) {
            return false;
        }
        for (NodeCondition c : node.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    private static long memoryPerDevice(Map<String, String> labels) {
        String own = labels.get(MEMORY_LABEL);
        if (own != null) {
            try {
                long bytes = Units.parseSize(own);
                if (bytes <= 0) {
                    throw new IllegalArgumentException("is zero");
                }
                return bytes;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("label " + MEMORY_LABEL + "=" + own + " is not a size such as 80GiB");
            }
        }
        String nvidia = labels.get(NVIDIA_MEMORY_LABEL);
        if (nvidia != null) {
            try {
                long mib = Long.parseLong(nvidia);
                if (mib <= 0) {
                    throw new NumberFormatException();
                }
                return mib * MIB;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("label " + NVIDIA_MEMORY_LABEL + "=" + nvidia + " is not MiB");
            }
        }
        throw new IllegalArgumentException("no accelerator memory: label the node " + MEMORY_LABEL
                + "=<size per device, e.g. 80GiB>");
    }

    private static List<Integer> domains(Map<String, String> labels, int devices) {
        String value = labels.get(DOMAINS_LABEL);
        if (value == null) {
            return List.of(devices);
        }
        try {
            List<Integer> sizes = Arrays.stream(value.split("-", -1)).map(Integer::valueOf).toList();
            if (sizes.stream().anyMatch(s -> s < 1) || sizes.stream().mapToInt(Integer::intValue).sum() != devices) {
                throw new NumberFormatException();
            }
            return sizes;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("label " + DOMAINS_LABEL + "=" + value + " must be domain sizes joined "
                    + "by '-' that add up to the node's " + devices + " devices");
        }
    }
}
