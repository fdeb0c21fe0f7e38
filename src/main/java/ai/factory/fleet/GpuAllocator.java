package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import ai.factory.fleet.placement.PlacementEngine;
import ai.factory.fleet.placement.PlacementNode;
import ai.factory.fleet.placement.PlacementResult;
import ai.factory.fleet.placement.ReplicaRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * This node's GPUs as replicas hold them: the {@link PlacementEngine} over one node, so a replica gets whole GPUs
 * (never one another replica holds) and a request for more memory per GPU than a GPU has is refused, with the same
 * rules the fleet uses. GPUs that llama.cpp can drive are used (NVIDIA, AMD; Neuron devices are not GPUs to it),
 * those of the kind with the most devices when a node has several. A GPU's capacity is its free memory when the
 * allocator was built (total less what other processes held then); GPUs of different sizes count as the smallest.
 * A GPU of which other processes held more than half is left out ({@link #busy}), so one busy GPU does not shrink
 * every other.
 * GPUs are ordered by NVLink domain, then index, so the engine's interconnect domains are the driver's. Thread-safe.
 */
public final class GpuAllocator {
    private static final Logger LOG = LoggerFactory.getLogger(GpuAllocator.class);

    /** One GPU as the allocator sees it. */
    public record Gpu(String kind, int index, String name, long totalBytes, long capacityBytes, Optional<String> domain) {
        public Gpu {
            requireNonNull(kind, "kind is null");
            requireNonNull(name, "name is null");
            requireNonNull(domain, "domain is null");
        }
    }

    /** GPUs held by {@code owner}: their indices as the vendor's tool numbers them, and the bytes reserved on each. */
    public record Allocation(String owner, String kind, List<Integer> gpus, long bytesPerGpu) {
        public Allocation {
            requireNonNull(owner, "owner is null");
            gpus = List.copyOf(gpus);
        }
    }

    /** What {@link #allocate} did: the allocation, or why not, with the numbers. */
    public sealed interface Result {
        record Granted(Allocation allocation) implements Result {}

        record Refused(String reason) implements Result {}
    }

    private final List<Gpu> gpus;
    private final List<Gpu> busy;
    private final String kind;
    private final long capacity;
    private final @Nullable PlacementEngine engine;
    private final Map<String, Long> ids = new HashMap<>();
    private final Map<String, Allocation> held = new LinkedHashMap<>();
    private long nextId = 1;

    public GpuAllocator(List<Accelerator> accelerators) {
        Map<String, List<Gpu>> byKind = new LinkedHashMap<>();
        for (Accelerator a : accelerators) {
            switch (a) {
                case NvidiaGpu g -> byKind.computeIfAbsent("nvidia", k -> new ArrayList<>()).add(gpu(g, g.nvlinkDomain()));
                case AmdGpu g -> byKind.computeIfAbsent("amd", k -> new ArrayList<>()).add(gpu(g, Optional.empty()));
                case NeuronDevice d -> { }
            }
        }
        List<Gpu> chosen = byKind.values().stream().max(Comparator.comparingInt(List::size)).orElse(List.of());
        this.busy = chosen.stream().filter(GpuAllocator::mostlyTaken).toList();
        this.gpus = chosen.stream().filter(g -> !mostlyTaken(g))
                .sorted(Comparator.comparing((Gpu g) -> g.domain().orElse("")).thenComparingInt(Gpu::index))
                .toList();
        this.kind = gpus.isEmpty() ? "none" : gpus.getFirst().kind();
        this.capacity = gpus.stream().mapToLong(Gpu::capacityBytes).min().orElse(0);
        if (gpus.isEmpty() || capacity <= 0) {
            this.engine = null;
        } else {
            List<Integer> domains = new ArrayList<>();
            String last = null;
            for (Gpu g : gpus) {
                String d = g.domain().orElse("");
                if (domains.isEmpty() || !d.equals(last)) {
                    domains.add(0);
                }
                domains.set(domains.size() - 1, domains.getLast() + 1);
                last = d;
            }
            this.engine = new PlacementEngine(List.of(new PlacementNode("local", kind, gpus.size(), capacity, domains)),
                    Map.of(), PlacementEngine.Scoring.BIN_PACK);
        }
    }

    private static Gpu gpu(Accelerator a, Optional<String> domain) {
        long used = a.memoryUsedBytes().orElse(0);
        return new Gpu(a.kind().id(), a.index(), a.name(), a.memoryTotalBytes(), Math.max(0, a.memoryTotalBytes() - used),
                domain);
    }

    private static boolean mostlyTaken(Gpu g) {
        return g.capacityBytes() < g.totalBytes() / 2;
    }

    /** GPUs left out because other processes held more than half of their memory. */
    public List<Gpu> busy() {
        return busy;
    }

    /** The GPUs, in the allocator's order (by domain, then index). */
    public List<Gpu> gpus() {
        return gpus;
    }

    /** {@code nvidia}, {@code amd}, or {@code none}. */
    public String kind() {
        return kind;
    }

    /** Bytes each GPU offers a replica. */
    public long capacityPerGpu() {
        return capacity;
    }

    /** The GPUs {@code owner} holds (0: none). */
    public synchronized int heldBy(String owner) {
        Allocation a = held.get(owner);
        return a == null ? 0 : a.gpus().size();
    }

    public synchronized int freeGpus() {
        return engine == null ? 0 : (int) (engine.totalGpus() - engine.usedGpus());
    }

    /** Reserves {@code count} whole GPUs with {@code bytesPerGpu} each for {@code owner}. */
    public synchronized Result allocate(String owner, int count, long bytesPerGpu) {
        requireNonNull(owner, "owner is null");
        if (held.containsKey(owner)) {
            throw new IllegalArgumentException(owner + " already holds GPUs");
        }
        if (engine == null) {
            return new Result.Refused("this node has no GPU");
        }
        long id = nextId++;
        PlacementResult r = engine.place(new ReplicaRequest(id, "local", 0, kind, count, bytesPerGpu));
        return switch (r) {
            case PlacementResult.Placed p -> {
                List<Integer> indices = engine.devicesOf(id).stream().map(i -> gpus.get(i).index()).toList();
                Allocation a = new Allocation(owner, kind, indices, bytesPerGpu);
                ids.put(owner, id);
                held.put(owner, a);
                LOG.info("{} holds {} GPU(s) {}, {} MiB each", owner, count, indices, bytesPerGpu >> 20);
                yield new Result.Granted(a);
            }
            case PlacementResult.Rejected x -> new Result.Refused(String.format(
                    "%d %s GPU(s) with %.1f MiB each asked for; %d of %d free, %.1f MiB each (held: %s)", count, kind,
                    bytesPerGpu / 1048576.0, freeGpus(), gpus.size(), capacity / 1048576.0,
                    held.isEmpty() ? "none" : String.join(", ", held.values().stream()
                            .map(h -> h.owner() + " " + h.gpus()).toList())));
        };
    }

    /** Gives back what {@code owner} holds; false if nothing. */
    public synchronized boolean release(String owner) {
        Long id = ids.remove(owner);
        held.remove(owner);
        return id != null && engine != null && engine.release(id);
    }

    /** Every allocation, oldest first. */
    public synchronized List<Allocation> allocations() {
        return List.copyOf(held.values());
    }
}
