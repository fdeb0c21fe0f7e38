package ai.factory.fleet.placement;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Assigns replicas to nodes. Each replica needs {@code k} accelerators of one kind on one node (one interconnect
 * domain), each with enough memory; projects have accelerator quotas; a replica of higher priority may evict lower
 * ones, which are placed again where there is room or reported lost.
 *
 * <p>Free capacity is indexed so a decision never scans the nodes: nodes with the same kind and memory per device
 * form a pool, and each pool keeps one sorted set of node indices per free-device count. Bin-packing takes the
 * fullest node that still has room (the smallest free count ≥ k), spreading the emptiest; ties go to the lowest
 * node index. Preemption looks only at nodes hosting the lowest-priority replicas, at most
 * {@value #PREEMPTION_CANDIDATES} of them. Everything is ordered (node index, replica id, priority), never by hash
 * iteration, so the same inputs give the same placements. Not thread-safe: one scheduler thread owns it.
 */
public final class PlacementEngine {
    /** How to choose among nodes with room. */
    public enum Scoring { BIN_PACK, SPREAD }

    static final int PREEMPTION_CANDIDATES = 256;

    private record Running(ReplicaRequest request, int node) {}

    private static final Comparator<Running> LOWEST_PRIORITY_FIRST = Comparator
            .comparingInt((Running r) -> r.request().priority())
            .thenComparing(r -> r.request().id(), Comparator.reverseOrder());

    /** Nodes of one kind and memory per device, indexed by how many devices each has free. */
    private static final class Pool {
        final String kind;
        final long memoryPerGpu;
        final int maxGpus;
        final TreeSet<Integer>[] byFree;

        @SuppressWarnings("unchecked")
        Pool(String kind, long memoryPerGpu, int maxGpus) {
            this.kind = kind;
            this.memoryPerGpu = memoryPerGpu;
            this.maxGpus = maxGpus;
            this.byFree = new TreeSet[maxGpus + 1];
            for (int i = 0; i <= maxGpus; i++) {
                byFree[i] = new TreeSet<>();
            }
        }
    }

    private final Scoring scoring;
    private final List<PlacementNode> nodes;
    private final Map<String, Integer> nodeIndex = new HashMap<>();
    private final int[] free;
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
        up = new boolean[n];
        poolOf = new Pool[n];
        onNode = new ArrayList<>(n);
        Map<String, Pool> pools = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            PlacementNode node = this.nodes.get(i);
            if (nodeIndex.putIfAbsent(node.name(), i) != null) {
                throw new IllegalArgumentException("duplicate node name: " + node.name());
            }
            String key = node.kind() + "/" + node.memoryPerGpu() + "/" + node.gpus();
            Pool pool = pools.computeIfAbsent(key, k -> new Pool(node.kind(), node.memoryPerGpu(), node.gpus()));
            poolOf[i] = pool;
            onNode.add(new ArrayList<>());
            free[i] = node.gpus();
            up[i] = true;
            pool.byFree[node.gpus()].add(i);
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
                    "no node has %d %s accelerators with %d bytes each", request.gpus(), request.kind(), request.memoryPerGpu()));
        }
        int node = findFree(request);
        if (node >= 0) {
            assign(request, node);
            return new PlacementResult.Placed(request.id(), nodes.get(node).name(), List.of(), List.of());
        }
        node = findPreemptible(request);
        if (node < 0) {
            return new PlacementResult.Rejected(request.id(), PlacementResult.Reason.NO_CAPACITY, String.format(
                    "no node has %d free %s accelerators, even after evicting lower priorities", request.gpus(), request.kind()));
        }
        List<Running> victims = new ArrayList<>(onNode.get(node).stream()
                .filter(r -> r.request().priority() < request.priority()).sorted(LOWEST_PRIORITY_FIRST).toList());
        List<Running> evicted = new ArrayList<>();
        for (Running victim : victims) {
            if (free[node] >= request.gpus()) {
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
        poolOf[node].byFree[free[node]].remove(node);
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
        poolOf[node].byFree[free[node]].add(node);
        totalGpus += nodes.get(node).gpus();
    }

    /** The node a replica runs on, or null. */
    public String nodeOf(long replicaId) {
        Running r = running.get(replicaId);
        return r == null ? null : nodes.get(r.node()).name();
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
            if (pool.memoryPerGpu >= r.memoryPerGpu() && pool.maxGpus >= r.gpus()) {
                return true;
            }
        }
        return false;
    }

    private int findFree(ReplicaRequest r) {
        int bestNode = -1;
        int bestFree = -1;
        for (Pool pool : poolsByKind.getOrDefault(r.kind(), List.of())) {
            if (pool.memoryPerGpu < r.memoryPerGpu() || pool.maxGpus < r.gpus()) {
                continue;
            }
            int f = -1;
            switch (scoring) {
                case BIN_PACK -> {
                    for (int i = r.gpus(); i <= pool.maxGpus; i++) {
                        if (!pool.byFree[i].isEmpty()) {
                            f = i;
                            break;
                        }
                    }
                }
                case SPREAD -> {
                    for (int i = pool.maxGpus; i >= r.gpus(); i--) {
                        if (!pool.byFree[i].isEmpty()) {
                            f = i;
                            break;
                        }
                    }
                }
            }
            if (f < 0) {
                continue;
            }
            int node = pool.byFree[f].first();
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
            if (!pool.kind.equals(r.kind()) || pool.memoryPerGpu < r.memoryPerGpu() || pool.maxGpus < r.gpus()) {
                continue;
            }
            int room = free[node];
            for (Running other : onNode.get(node)) {
                if (other.request().priority() < r.priority()) {
                    room += other.request().gpus();
                }
            }
            if (room >= r.gpus()) {
                return node;
            }
        }
        return -1;
    }

    private void assign(ReplicaRequest r, int node) {
        Running run = new Running(r, node);
        move(node, free[node] - r.gpus());
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
        move(node, free[node] + run.request().gpus());
    }

    private void move(int node, int newFree) {
        if (up[node]) {
            poolOf[node].byFree[free[node]].remove(node);
            poolOf[node].byFree[newFree].add(node);
        }
        free[node] = newFree;
    }
}
