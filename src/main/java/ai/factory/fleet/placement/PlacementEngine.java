package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Assigns replicas to nodes and devices. Each replica needs {@code k} accelerators of one kind on one node, each
 * with enough memory, and a tensor-parallel one needs them within one interconnect domain of that node; projects
 * have accelerator quotas; a replica of higher priority may evict lower ones, which are placed again where there is
 * room or reported lost. Each placed replica holds whole devices ({@link #devicesOf}), so two replicas never share
 * one device's memory: the same engine serves as one node's GPU allocator.
 *
 * <p>Free capacity is indexed so a decision never scans the nodes: nodes with the same kind and memory per device
 * (and domain layout) form a pool, and each pool keeps one sorted set of node indices per free-device count, and
 * another per free-device count of the node's freest domain, for tensor-parallel requests. Bin-packing takes the
 * fullest node that still has room (the smallest free count ≥ k), spreading the emptiest; ties go to the lowest
 * node index. Within a node a replica takes the lowest free devices of the domain that fits it best. Preemption
 * looks only at nodes hosting the lowest-priority replicas, at most {@value #PREEMPTION_CANDIDATES} of them.
 * Everything is ordered (node index, replica id, priority), never by hash iteration, so the same inputs give the
 * same placements. Not thread-safe: one scheduler thread owns it.
 */
public final class PlacementEngine {
    /** How to choose among nodes with room. */
    public enum Scoring { BIN_PACK, SPREAD }

    static final int PREEMPTION_CANDIDATES = 256;

    private record Running(ReplicaRequest request, int node, long devices) {}

    private static final Comparator<Running> LOWEST_PRIORITY_FIRST = Comparator
            .comparingInt((Running r) -> r.request().priority())
            .thenComparing(r -> r.request().id(), Comparator.reverseOrder());

    /** Nodes of one kind and memory per device, indexed by how many devices each has free. */
    private static final class Pool {
        final String kind;
        final long memoryPerGpu;
        final int maxGpus;
        final int largestDomain;
        final TreeSet<Integer>[] byFree;
        /** By free devices in the node's freest domain; the same as {@code byFree} where nodes have one domain. */
        final TreeSet<Integer>[] byDomainFree;

        @SuppressWarnings("unchecked")
        Pool(String kind, long memoryPerGpu, int maxGpus, int largestDomain) {
            this.kind = kind;
            this.memoryPerGpu = memoryPerGpu;
            this.maxGpus = maxGpus;
            this.largestDomain = largestDomain;
            this.byFree = new TreeSet[maxGpus + 1];
            for (int i = 0; i <= maxGpus; i++) {
                byFree[i] = new TreeSet<>();
            }
            if (largestDomain == maxGpus) {
                this.byDomainFree = byFree;
            } else {
                this.byDomainFree = new TreeSet[maxGpus + 1];
                for (int i = 0; i <= maxGpus; i++) {
                    byDomainFree[i] = new TreeSet<>();
                }
            }
        }

        boolean oneDomain() {
            return byDomainFree == byFree;
        }

        TreeSet<Integer>[] index(boolean tensorParallel) {
            return tensorParallel ? byDomainFree : byFree;
        }
    }

    private final Scoring scoring;
    private final List<PlacementNode> nodes;
    private final Map<String, Integer> nodeIndex = new HashMap<>();
    private final int[] free;
    /** Per node: a bit per device in use. */
    private final long[] usedDevices;
    /** Per node: a device mask per interconnect domain. */
    private final long[][] domainMasks;
    private final boolean[] up;
    private final Pool[] poolOf;
    private final List<List<Running>> onNode;
    private final Map<String, List<Pool>> poolsByKind = new TreeMap<>();
    private final Map<String, Integer> quotas;
    private final Map<String, Integer> used = new HashMap<>();
    private final Map<Long, Running> running = new HashMap<>();
    private final TreeSet<Running> byPriority = new TreeSet<>(LOWEST_PRIORITY_FIRST);
    private long totalGpus;
    private long usedGpus;

    /** {@code quotas}: the most accelerators each project may hold; projects not named have no limit. */
    public PlacementEngine(List<PlacementNode> nodes, Map<String, Integer> quotas, Scoring scoring) {
        this.nodes = List.copyOf(nodes);
        this.quotas = Map.copyOf(quotas);
        this.scoring = requireNonNull(scoring, "scoring is null");
        int n = this.nodes.size();
        free = new int[n];
        usedDevices = new long[n];
        domainMasks = new long[n][];
        up = new boolean[n];
        poolOf = new Pool[n];
        onNode = new ArrayList<>(n);
        Map<String, Pool> pools = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            PlacementNode node = this.nodes.get(i);
            if (nodeIndex.putIfAbsent(node.name(), i) != null) {
                throw new IllegalArgumentException("duplicate node name: " + node.name());
            }
            String key = node.kind() + "/" + node.memoryPerGpu() + "/" + node.gpus() + "/" + node.domains();
            Pool pool = pools.computeIfAbsent(key,
                    k -> new Pool(node.kind(), node.memoryPerGpu(), node.gpus(), node.largestDomain()));
            poolOf[i] = pool;
            onNode.add(new ArrayList<>());
            domainMasks[i] = new long[node.domains().size()];
            int first = 0;
            for (int d = 0; d < node.domains().size(); d++) {
                int size = node.domains().get(d);
                domainMasks[i][d] = mask(first, size);
                first += size;
            }
            free[i] = node.gpus();
            up[i] = true;
            addToIndex(i);
            totalGpus += node.gpus();
        }
        for (Pool pool : pools.values()) {
            poolsByKind.computeIfAbsent(pool.kind, k -> new ArrayList<>()).add(pool);
        }
    }

    /** Places {@code request}, evicting lower priorities if it must. */
    public PlacementResult place(ReplicaRequest request) {
        requireNonNull(request, "request is null");
        if (running.containsKey(request.id())) {
            throw new IllegalArgumentException("replica " + request.id() + " is already placed");
        }
        Integer quota = quotas.get(request.project());
        int held = used.getOrDefault(request.project(), 0);
        if (quota != null && held + request.gpus() > quota) {
            return new PlacementResult.Rejected(request.id(), PlacementResult.Reason.QUOTA, String.format(
                    "project %s holds %d of its %d accelerators; %d more would exceed its quota",
                    request.project(), held, quota, request.gpus()));
        }
        if (!satisfiable(request)) {
            return new PlacementResult.Rejected(request.id(), PlacementResult.Reason.UNSATISFIABLE, String.format(
                    "no node has %d %s accelerators with %d bytes each%s", request.gpus(), request.kind(),
                    request.memoryPerGpu(), request.tensorParallel() ? " in one interconnect domain" : ""));
        }
        int node = findFree(request);
        if (node >= 0) {
            assign(request, node);
            return new PlacementResult.Placed(request.id(), nodes.get(node).name(), List.of(), List.of());
        }
        node = findPreemptible(request);
        if (node < 0) {
            return new PlacementResult.Rejected(request.id(), PlacementResult.Reason.NO_CAPACITY, String.format(
                    "no node has %d free %s accelerators%s, even after evicting lower priorities", request.gpus(),
                    request.kind(), request.tensorParallel() ? " in one interconnect domain" : ""));
        }
        long room = request.tensorParallel() ? domainMasks[node][preemptibleDomain(request, node)] : -1L;
        List<Running> victims = new ArrayList<>(onNode.get(node).stream()
                .filter(r -> r.request().priority() < request.priority())
                .filter(r -> (r.devices() & room) != 0)
                .sorted(LOWEST_PRIORITY_FIRST).toList());
        List<Running> evicted = new ArrayList<>();
        for (Running victim : victims) {
            if (freeIn(node, room) >= request.gpus()) {
                break;
            }
            unassign(victim);
            evicted.add(victim);
        }
        assign(request, node);
        List<Long> lost = new ArrayList<>();
        for (Running victim : evicted) {
            int to = findFree(victim.request());
            if (to >= 0) {
                assign(victim.request(), to);
            } else {
                lost.add(victim.request().id());
            }
        }
        return new PlacementResult.Placed(request.id(), nodes.get(node).name(),
                evicted.stream().map(r -> r.request().id()).toList(), lost);
    }

    /** Frees a replica's accelerators; false if it is not placed. */
    public boolean release(long replicaId) {
        Running r = running.get(replicaId);
        if (r == null) {
            return false;
        }
        unassign(r);
        return true;
    }

    /** Takes a node out; its replicas are placed again elsewhere, in id order, with the results returned. */
    public List<PlacementResult> fail(String nodeName) {
        int node = index(nodeName);
        if (!up[node]) {
            return List.of();
        }
        List<Running> displaced = new ArrayList<>(onNode.get(node));
        displaced.sort(Comparator.comparingLong(r -> r.request().id()));
        displaced.forEach(this::unassign);
        removeFromIndex(node);
        up[node] = false;
        totalGpus -= nodes.get(node).gpus();
        return displaced.stream().map(r -> place(r.request())).toList();
    }

    /** Brings a failed node back, empty. */
    public void recover(String nodeName) {
        int node = index(nodeName);
        if (up[node]) {
            return;
        }
        up[node] = true;
        free[node] = nodes.get(node).gpus();
        usedDevices[node] = 0;
        addToIndex(node);
        totalGpus += nodes.get(node).gpus();
    }

    /** The node a replica runs on, or null. */
    public @Nullable String nodeOf(long replicaId) {
        Running r = running.get(replicaId);
        return r == null ? null : nodes.get(r.node()).name();
    }

    /**
     * The devices a replica holds on its node, by position in the node's device order (ascending), or an empty list
     * when it is not placed.
     */
    public List<Integer> devicesOf(long replicaId) {
        Running r = running.get(replicaId);
        if (r == null) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>(Long.bitCount(r.devices()));
        for (long bits = r.devices(); bits != 0; bits &= bits - 1) {
            out.add(Long.numberOfTrailingZeros(bits));
        }
        return out;
    }

    public long totalGpus() {
        return totalGpus;
    }

    public long usedGpus() {
        return usedGpus;
    }

    public int runningReplicas() {
        return running.size();
    }

    /**
     * The share of free accelerators on nodes that are partly used: 0 when every free device is on an empty node
     * (any replica size still fits), near 1 when free devices are scattered in ones and twos.
     */
    public double fragmentation() {
        long freeTotal = 0;
        long freeOnEmpty = 0;
        for (List<Pool> pools : poolsByKind.values()) {
            for (Pool pool : pools) {
                for (int f = 1; f <= pool.maxGpus; f++) {
                    freeTotal += (long) f * pool.byFree[f].size();
                }
                freeOnEmpty += (long) pool.maxGpus * pool.byFree[pool.maxGpus].size();
            }
        }
        return freeTotal == 0 ? 0 : 1.0 - (double) freeOnEmpty / freeTotal;
    }

    private int index(String nodeName) {
        Integer i = nodeIndex.get(requireNonNull(nodeName, "nodeName is null"));
        if (i == null) {
            throw new IllegalArgumentException("unknown node: " + nodeName);
        }
        return i;
    }

    private boolean satisfiable(ReplicaRequest r) {
        for (Pool pool : poolsByKind.getOrDefault(r.kind(), List.of())) {
            if (fits(pool, r)) {
                return true;
            }
        }
        return false;
    }

    private int findFree(ReplicaRequest r) {
        int bestNode = -1;
        int bestFree = -1;
        for (Pool pool : poolsByKind.getOrDefault(r.kind(), List.of())) {
            if (!fits(pool, r)) {
                continue;
            }
            TreeSet<Integer>[] index = pool.index(r.tensorParallel());
            int f = -1;
            switch (scoring) {
                case BIN_PACK -> {
                    for (int i = r.gpus(); i <= pool.maxGpus; i++) {
                        if (!index[i].isEmpty()) {
                            f = i;
                            break;
                        }
                    }
                }
                case SPREAD -> {
                    for (int i = pool.maxGpus; i >= r.gpus(); i--) {
                        if (!index[i].isEmpty()) {
                            f = i;
                            break;
                        }
                    }
                }
            }
            if (f < 0) {
                continue;
            }
            int node = index[f].first();
            boolean better = bestNode < 0
                    || (scoring == Scoring.BIN_PACK ? f < bestFree : f > bestFree)
                    || (f == bestFree && node < bestNode);
            if (better) {
                bestNode = node;
                bestFree = f;
            }
        }
        return bestNode;
    }

    private int findPreemptible(ReplicaRequest r) {
        int seen = 0;
        for (Running candidate : byPriority) {
            if (candidate.request().priority() >= r.priority() || seen++ >= PREEMPTION_CANDIDATES) {
                return -1;
            }
            int node = candidate.node();
            Pool pool = poolOf[node];
            if (!pool.kind.equals(r.kind()) || !fits(pool, r)) {
                continue;
            }
            if (r.tensorParallel() ? preemptibleDomain(r, node) >= 0 : preemptibleRoom(r, node, -1L) >= r.gpus()) {
                return node;
            }
        }
        return -1;
    }

    private static boolean fits(Pool pool, ReplicaRequest r) {
        return pool.memoryPerGpu >= r.memoryPerGpu() && (r.tensorParallel() ? pool.largestDomain : pool.maxGpus) >= r.gpus();
    }

    /** Free devices of {@code node} within {@code within}, plus those lower priorities than {@code r} hold there. */
    private int preemptibleRoom(ReplicaRequest r, int node, long within) {
        int room = freeIn(node, within);
        for (Running other : onNode.get(node)) {
            if (other.request().priority() < r.priority()) {
                room += Long.bitCount(other.devices() & within);
            }
        }
        return room;
    }

    /** The first domain of {@code node} where evicting lower priorities makes room for {@code r}, or -1. */
    private int preemptibleDomain(ReplicaRequest r, int node) {
        for (int d = 0; d < domainMasks[node].length; d++) {
            if (preemptibleRoom(r, node, domainMasks[node][d]) >= r.gpus()) {
                return d;
            }
        }
        return -1;
    }

    private int freeIn(int node, long within) {
        return Long.bitCount(~usedDevices[node] & within & mask(0, nodes.get(node).gpus()));
    }

    private int largestDomainFree(int node) {
        int best = 0;
        for (long domain : domainMasks[node]) {
            best = Math.max(best, freeIn(node, domain));
        }
        return best;
    }

    /**
     * The devices for {@code r} on {@code node}: the lowest free ones of the domain with the fewest free devices
     * that still holds all of them (bin-packing) or the most (spreading); for a replica that needs no common domain
     * and fits in none, the lowest free devices of the node.
     */
    private long chooseDevices(ReplicaRequest r, int node) {
        long freeMask = ~usedDevices[node] & mask(0, nodes.get(node).gpus());
        long chosenDomain = 0;
        int chosenFree = -1;
        for (long domain : domainMasks[node]) {
            int f = Long.bitCount(freeMask & domain);
            if (f < r.gpus()) {
                continue;
            }
            boolean better = chosenFree < 0 || (scoring == Scoring.BIN_PACK ? f < chosenFree : f > chosenFree);
            if (better) {
                chosenDomain = domain;
                chosenFree = f;
            }
        }
        long from = chosenFree >= 0 ? freeMask & chosenDomain : freeMask;
        long devices = 0;
        for (int taken = 0; taken < r.gpus(); taken++) {
            long lowest = Long.lowestOneBit(from);
            if (lowest == 0) {
                throw new IllegalStateException("node " + nodes.get(node).name() + " has too few free devices for replica " + r.id());
            }
            devices |= lowest;
            from &= ~lowest;
        }
        return devices;
    }

    private static long mask(int first, int count) {
        return (count >= 64 ? -1L : (1L << count) - 1) << first;
    }

    private void assign(ReplicaRequest r, int node) {
        Running run = new Running(r, node, chooseDevices(r, node));
        removeFromIndex(node);
        usedDevices[node] |= run.devices();
        free[node] -= r.gpus();
        addToIndex(node);
        onNode.get(node).add(run);
        running.put(r.id(), run);
        byPriority.add(run);
        used.merge(r.project(), r.gpus(), Integer::sum);
        usedGpus += r.gpus();
    }

    private void unassign(Running run) {
        int node = run.node();
        running.remove(run.request().id());
        byPriority.remove(run);
        onNode.get(node).remove(run);
        used.merge(run.request().project(), -run.request().gpus(), Integer::sum);
        usedGpus -= run.request().gpus();
        removeFromIndex(node);
        usedDevices[node] &= ~run.devices();
        free[node] += run.request().gpus();
        addToIndex(node);
    }

    private void addToIndex(int node) {
        if (up[node]) {
            Pool pool = poolOf[node];
            pool.byFree[free[node]].add(node);
            if (!pool.oneDomain()) {
                pool.byDomainFree[largestDomainFree(node)].add(node);
            }
        }
    }

    private void removeFromIndex(int node) {
        if (up[node]) {
            Pool pool = poolOf[node];
            pool.byFree[free[node]].remove(node);
            if (!pool.oneDomain()) {
                pool.byDomainFree[largestDomainFree(node)].remove(node);
            }
        }
    }
}
