package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.config.ClusterConfig;
import ai.factory.engine.EngineLoad;
import ai.factory.engine.TextModelInfo;
import ai.factory.identity.Principal;
import ai.factory.security.audit.AuditEvent;
import ai.factory.serving.ReplicaOf;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which worker runs which replica, on the control plane. An assignment is a row ({@code replica_assignments}: the
 * deployment, the replica's index, the node, and the {@link ReplicaWork} the node runs); a worker learns its
 * assignments from the answer to each heartbeat and reports in the next one how each replica stands (loading, ready
 * with the model's shape, or failed with the reason), which is written to the row, so that every control-plane
 * replica sees it whichever one the heartbeat reached, and wakes whoever waits for it here.
 *
 * <p>Only the leader ({@link Leadership}) makes and ends assignments: each such write is fenced by its term.
 *
 * <p>A replica goes to a ready node that is up (heard from within the heartbeat deadline) and serves replicas. For a
 * deployment that may use GPUs ({@code gpuLayers} auto or a count) a node whose free GPUs hold all of it goes first
 * (by the memory of its GPUs, as its inventory reports them), then one with a GPU free, and one that asks
 * for a layer count goes nowhere else; one kept on the CPU ({@code gpuLayers: 0}) goes first to nodes without GPUs,
 * leaving those for GPU work. Then one that runs no replica of the deployment yet before one that does, then the one
 * with the fewest assignments, so {@code replicas: N} spreads over N nodes when there are N. A node's free GPUs are
 * what it last reported ({@code gpusFree} in its inventory: the worker gives its replicas GPUs itself) less the GPU
 * replicas assigned to it since, which it has not reported yet.
 *
 * <p>That is {@code cluster.placement: spread}, the default. With {@code binpack}, after the GPU rule the replica
 * goes to the node with the least memory left once it is there (nodes that report none last), then the one with the
 * most assignments: replicas gather on few workers and whole workers stay free for large models.
 *
 * <p>A replica goes only where it fits in memory: its need ({@link ReplicaWork#memory()}: weights, KV cache and
 * compute, as the serving room's {@code MemoryPlanner} estimates them; only the model's file, held while it loads,
 * where the node's free GPUs can hold all of it) against the memory the node last reported available, less what its
 * replicas not loaded yet will take (all of each, GPU work too, as which GPUs it gets is the worker's choice; one
 * loading counts without its weights, which the report shows as they are written). With room nowhere, placement is
 * UNAVAILABLE with the numbers; a replica that no node of the cluster could hold even empty, every GPU free, is
 * INVALID_REQUEST.
 */
public final class Assignments {
    private static final Logger LOG = LoggerFactory.getLogger(Assignments.class);
    public static final String AUDIT_KEY_RELEASED = "replica.keyReleased";
    /** A replica's assignment was ended to make room for a replica of a deployment with a higher priority. */
    public static final String AUDIT_PREEMPTED = "replica.preempted";

    private final Jdbi jdbi;
    private final Nodes nodes;
    private final Duration deadline;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    private final Leadership leadership;
    private final ClusterConfig.Placement placement;
    private final java.util.function.ToIntFunction<String> acceleratorQuota;
    private final Object changed = new Object();

    /** How a worker last reported a replica. */
    public enum Phase { LOADING, READY, FAILED }

    /**
     * A replica as its worker reported it.
     *
     * @param detail why it failed, or empty
     * @param info the loaded model's shape, once ready
     * @param gpus the GPUs the worker gave it (null from a worker that does not say)
     */
    public record Reported(String assignment, Phase phase, String detail, @Nullable TextModelInfo info,
                           @Nullable Integer gpus) {
        public Reported {
            requireNonNull(assignment, "assignment is null");
            requireNonNull(phase, "phase is null");
            detail = detail == null ? "" : detail;
        }

        /** A report that does not say how many GPUs the replica holds. */
        public Reported(String assignment, Phase phase, String detail, @Nullable TextModelInfo info) {
            this(assignment, phase, detail, info, null);
        }
    }

    /** An assignment and the node it is on. */
    public record Placed(ReplicaWork work, Node node) {}

    public Assignments(Jdbi jdbi, Nodes nodes, Leadership leadership, Duration deadline, Consumer<AuditEvent> audit,
                       Clock clock) {
        this(jdbi, nodes, leadership, deadline, ClusterConfig.Placement.SPREAD, audit, clock);
    }

    /** @param placement how to choose among the workers with room for a replica ({@code cluster.placement}) */
    public Assignments(Jdbi jdbi, Nodes nodes, Leadership leadership, Duration deadline,
                       ClusterConfig.Placement placement, Consumer<AuditEvent> audit, Clock clock) {
        this(jdbi, nodes, leadership, deadline, placement, project -> -1, audit, clock);
    }

    /**
     * @param placement how to choose among the workers with room for a replica ({@code cluster.placement})
     * @param acceleratorQuota the most accelerators a project's replicas may hold, by project (-1: no limit)
     */
    public Assignments(Jdbi jdbi, Nodes nodes, Leadership leadership, Duration deadline,
                       ClusterConfig.Placement placement, java.util.function.ToIntFunction<String> acceleratorQuota,
                       Consumer<AuditEvent> audit, Clock clock) {
        this.acceleratorQuota = requireNonNull(acceleratorQuota, "acceleratorQuota is null");
        this.placement = requireNonNull(placement, "placement is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.nodes = requireNonNull(nodes, "nodes is null");
        this.deadline = requireNonNull(deadline, "deadline is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * A recorded assignment of {@code replica} on a node that is ready, up and serving, so that a control plane that
     * restarted finds its replicas where they run: the newest such one whose worker has not reported it failed. Every
     * other recorded assignment of the replica is ended, except those on nodes that are only down, kept unless
     * {@code giveUpOnDown} (the node may be about to report again, after a restart of the control plane or its own).
     * Only the leader ends assignments; a follower just finds the one kept.
     */
    public synchronized Optional<Placed> existing(ReplicaOf replica, boolean giveUpOnDown) {
        Map<String, Node> all = nodesNow();
        List<Row> rows = recorded(replica);
        Optional<Placed> kept = rows.reversed().stream()
                .filter(row -> serving(all.get(row.node())))
                .filter(row -> row.reported() == null || row.reported().phase() != Phase.FAILED)
                .findFirst().map(row -> new Placed(row.work(), requireNonNull(all.get(row.node()))));
        if (!leadership.isLeader()) {
            return kept;
        }
        boolean keptReady = kept.flatMap(k -> rows.stream().filter(r -> r.work().equals(k.work())).findFirst())
                .map(r -> r.reported() != null && r.reported().phase() == Phase.READY).orElse(false);
        for (Row row : rows) {
            Node node = all.get(row.node());
            boolean mayReturn = node != null && node.state() == NodeState.READY && !giveUpOnDown && !serving(node);
            // A ready replica on a draining node serves on (other control-plane replicas may still send it calls)
            // until the one kept is ready too.
            boolean drainingReady = node != null && node.state().emptying() && nodes.up(node, deadline)
                    && row.reported() != null && row.reported().phase() == Phase.READY && !keptReady;
            if (kept.map(k -> k.work().equals(row.work())).orElse(false) || (mayReturn && kept.isEmpty())
                    || drainingReady) {
                continue;
            }
            try {
                remove(row.work().assignment());
            } catch (FactoryException e) {
                return kept; // the term ended under this call: the next leader tidies up
            }
        }
        return kept;
    }

    /** Whether {@code replica} has a recorded assignment (on a node that may be down for now). */
    public boolean recordedAnywhere(ReplicaOf replica) {
        return !recorded(replica).isEmpty();
    }

    /** Whether any node is in the cluster (not removed), up or not. */
    public boolean anyNode() {
        return nodes.recent().stream().anyMatch(n -> n.state() != NodeState.REMOVED);
    }

    /**
     * A new assignment of {@code replica}, on the node chosen as above among those that do not hold it already and
     * have room for it, running {@code work} under the new assignment's id. UNAVAILABLE, saying why, when no node can
     * take it, or when this control-plane replica does not lead.
     */
    public synchronized Placed place(ReplicaOf replica, ReplicaWork asked) {
        ReplicaWork work = withinQuota(replica, asked);
        int gpuLayers = work.usesGpus() ? work.gpuLayers() : 0;
        List<Node> serving = serving();
        Map<String, Integer> load = new HashMap<>();
        Map<String, Integer> ofThisDeployment = new HashMap<>();
        Map<String, Integer> gpuPending = new HashMap<>();
        Map<String, Long> memoryPending = new HashMap<>();
        java.util.Set<String> holding = new java.util.HashSet<>();
        jdbi.useHandle(h -> h.createQuery("SELECT node_id, deployment_id, replica, phase, work FROM replica_assignments")
                .map((rs, ctx) -> new Object[] {rs.getString(1), rs.getString(2), rs.getInt(3), rs.getString(4),
                        rs.getString(5)}).forEach(row -> {
                    String node = (String) row[0];
                    load.merge(node, 1, Integer::sum);
                    if (row[3] == null || Phase.LOADING.name().equals(row[3])) {
                        // Not loaded yet: not (all) in the node's reported free memory, or free GPUs, either. All
                        // of it counts, GPU work too (which GPUs it gets is the worker's choice, not known here); a
                        // loading replica's weights show in the report as they are written.
                        ReplicaWork pending = work((String) row[4]);
                        memoryPending.merge(node, row[3] == null ? pending.memory()
                                : Math.max(0, pending.memory() - pending.bytes()), Long::sum);
                        if (row[3] == null && pending.usesGpus()) {
                            gpuPending.merge(node, 1, Integer::sum);
                        }
                    }
                    if (row[1].equals(replica.deployment())) {
                        ofThisDeployment.merge(node, 1, Integer::sum);
                        if ((int) row[2] == replica.index()) {
                            holding.add(node);
                        }
                    }
                }));
        java.util.function.ToIntFunction<Node> freeGpus = n -> Math.max(0, inventoryOf(n).gpusFree()
                - gpuPending.getOrDefault(n.id(), 0));
        java.util.function.ToLongFunction<Node> needs = n -> hostNeed(work, n, freeGpus.applyAsInt(n));
        java.util.function.ToLongFunction<Node> freeMemory = n -> {
            long available = inventoryOf(n).available();
            return available < 0 ? Long.MAX_VALUE : available - memoryPending.getOrDefault(n.id(), 0L);
        };
        List<Node> open = serving.stream().filter(n -> !holding.contains(n.id())).toList();
        List<Node> withGpus = open.stream().filter(n -> gpuLayers <= 0 || freeGpus.applyAsInt(n) > 0).toList();
        List<Node> candidates = withGpus.stream().filter(n -> needs.applyAsLong(n) <= freeMemory.applyAsLong(n))
                .toList();
        Preemption room = candidates.isEmpty() ? preemption(work, open, freeGpus, freeMemory) : null;
        if (room == null && withGpus.isEmpty() && gpuLayers > 0 && !open.isEmpty()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "no worker has a GPU free for replica " + replica.index()
                    + " of deployment " + replica.deployment() + " ('gpuLayers' " + gpuLayers + " asks for GPUs; "
                    + serving.size() + " worker(s) ready, up and serving, none with a free GPU its natives can use); "
                    + "leave gpuLayers out to run where there is room, or add a GPU worker" + preempted(replica));
        }
        String what = " (weights, and KV cache and compute for " + (work.parallel() + work.prefixCache())
                + " sequence(s) of " + work.contextPerSequence() + " tokens)";
        inventories.keySet().retainAll(nodes.recent().stream().map(Node::id).collect(java.util.stream.Collectors.toSet()));
        if (room == null && candidates.isEmpty() && !withGpus.isEmpty()) {
            // Every node of the cluster, down or draining too: one that comes back may hold it.
            List<Node> all = nodes.recent().stream().filter(n -> n.state() != NodeState.REMOVED).toList();
            // At best, with every GPU of the node free.
            java.util.function.ToLongFunction<Node> leastNeed = n -> hostNeed(work, n, inventoryOf(n).gpus());
            if (all.stream().allMatch(n -> inventoryOf(n).total() >= 0 && leastNeed.applyAsLong(n) > inventoryOf(n).total())) {
                Node largest = all.stream().max(Comparator.comparingLong(n -> inventoryOf(n).total())).orElseThrow();
                // Not a wait for room: no worker of the cluster could ever hold it.
                throw FactoryException.invalidParam("context", "replica " + replica.index() + " of " + work.model()
                        + " needs " + gib(leastNeed.applyAsLong(largest)) + " of memory" + what + ", more than any worker "
                        + "has in all (the largest: " + gib(inventoryOf(largest).total()) + ", " + largest.name()
                        + "); lower the context, parallel or prefix cache, or add a worker with more memory");
            }
            Node roomiest = withGpus.stream().max(Comparator.comparingLong(freeMemory)).orElseThrow();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "no worker has the memory for replica " + replica.index()
                    + " of deployment " + replica.deployment() + " of " + work.model() + ": it needs "
                    + gib(needs.applyAsLong(roomiest)) + what + ", and the most free on a worker is "
                    + gib(Math.max(0, freeMemory.applyAsLong(roomiest))) + " (" + roomiest.name() + ", less what "
                    + "replicas still loading there take); lower the context, parallel or prefix cache, or add a worker "
                    + "with more memory" + preempted(replica));
        }
        if (room == null && candidates.isEmpty()) {
            long known = nodes.recent().stream().filter(n -> n.state() != NodeState.REMOVED).count();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "no worker can take replica " + replica.index()
                    + " of deployment " + replica.deployment() + ": " + known + " node(s) in the cluster, "
                    + serving.size() + " ready, up and serving" + (holding.isEmpty() ? "" : " (and holding it already)")
                    + "; join one with factory worker --join URL --token TOKEN" + preempted(replica));
        }
        // GPU work: a node whose free GPUs hold all of the replica, then one with a GPU free (part of its layers go
        // there), then the others.
        Comparator<Node> byGpu = gpuLayers == 0
                ? Comparator.comparingInt(n -> inventoryOf(n).accelerators() > 0 ? 1 : 0) // GPU nodes for GPU work
                : Comparator.comparingInt(n -> holdsOnGpus(work, n, freeGpus.applyAsInt(n)) ? 0
                        : freeGpus.applyAsInt(n) > 0 ? 1 : 2);
        Comparator<Node> policy = switch (placement) {
            case SPREAD -> byGpu.thenComparingInt((Node n) -> ofThisDeployment.getOrDefault(n.id(), 0))
                    .thenComparingInt(n -> load.getOrDefault(n.id(), 0));
            // The least memory left once it is there; nodes that report none last.
            case BINPACK -> byGpu.thenComparingLong((Node n) -> freeMemory.applyAsLong(n) == Long.MAX_VALUE
                    ? Long.MAX_VALUE : freeMemory.applyAsLong(n) - needs.applyAsLong(n))
                    .thenComparingInt(n -> -load.getOrDefault(n.id(), 0));
        };
        Node chosen = room != null ? room.node() : candidates.stream().min(policy.thenComparing(Node::name)).orElseThrow();
        List<Victim> ended = room != null ? room.victims() : List.of();
        String id = "asg-" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        ReplicaWork made = work.withAssignment(id, ended.stream().map(Victim::assignment).toList());
        String json;
        try {
            json = Json.mapper().writeValueAsString(made);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write an assignment: " + e.getMessage(), e);
        }
        jdbi.useTransaction(h -> {
            leadership.fence(h);
            for (Victim v : ended) {
                if (h.createUpdate("DELETE FROM replica_assignments WHERE id = :id").bind("id", v.assignment())
                        .execute() != 1) {
                    // Ended meanwhile (by a scale-down): its memory is not what it was; the caller places again.
                    throw new FactoryException(ErrorCode.UNAVAILABLE, "assignment " + v.assignment() + " on node "
                            + chosen.name() + " ended while replica " + replica.index() + " of deployment "
                            + replica.deployment() + " was placed there; placing again");
                }
            }
            h.createUpdate("INSERT INTO replica_assignments (id, deployment_id, replica, node_id, work, created_at, "
                            + "project) VALUES (:id, :deployment, :replica, :node, :work, :at, :project)")
                    .bind("id", id).bind("deployment", replica.deployment()).bind("replica", replica.index())
                    .bind("node", chosen.id()).bind("work", json).bind("at", Timestamp.from(clock.instant()))
                    .bind("project", work.project().isEmpty() ? null : work.project()).execute();
        });
        preempted.remove(replica);
        for (Victim v : ended) {
            String why = "ended on node " + chosen.name() + " at " + clock.instant() + " for replica " + replica.index()
                    + " of deployment " + replica.deployment() + " (" + work.model() + ", priority " + work.priority()
                    + " over its " + v.priority() + ")";
            preempted.put(new ReplicaOf(v.deployment(), v.replica()), why);
            LOG.warn("replica {} of deployment {} {}", v.replica(), v.deployment(), why);
            audit.accept(new AuditEvent(clock.instant(), "factory", "factory",
                    v.project().isEmpty() ? Principal.DEFAULT_PROJECT : v.project(),
                    AUDIT_PREEMPTED, "deployment=" + v.deployment(), AuditEvent.ALLOW, AuditEvent.SUCCESS, 0, "factory",
                    v.assignment(), 0, 0, 0, 0, "replica " + v.replica() + " of " + v.model() + " " + why));
        }
        LOG.info("replica {} of deployment {} assigned to node {} ({}) as {}{}", replica.index(), replica.deployment(),
                chosen.id(), chosen.name(), id, ended.isEmpty() ? ""
                        : ", once the " + ended.size() + " replica(s) of lower priority ended there have unloaded");
        return new Placed(made, chosen);
    }

    /**
     * {@code work} as its project's accelerator quota leaves it: with at most the GPUs the quota leaves
     * ({@link ReplicaWork#maxGpus()}, which the worker keeps to; with none, {@code gpuLayers} auto runs on the CPU)
     * while a layer count with none left is UNAVAILABLE (it waits for the project's GPUs to be given back). What the
     * project holds is what its workers reported each of its other loaded replicas holds; one not loaded yet counts
     * what it may take (its {@code maxGpus}, or one where nothing limited it), as the worker may give it that many.
     */
    private ReplicaWork withinQuota(ReplicaOf replica, ReplicaWork work) {
        int quota = work.gpuLayers() == 0 || work.project().isEmpty() ? -1 : acceleratorQuota.applyAsInt(work.project());
        if (quota < 0) {
            return work.limitedTo(ReplicaWork.ANY_GPUS);
        }
        int held = jdbi.withHandle(h -> h.createQuery("SELECT gpus, phase, work FROM replica_assignments "
                        + "WHERE project = :p AND NOT (deployment_id = :d AND replica = :r)")
                .bind("p", work.project()).bind("d", replica.deployment()).bind("r", replica.index())
                .map((rs, ctx) -> {
                    int gpus = rs.getInt(1);
                    boolean reported = !rs.wasNull();
                    if (reported && Phase.READY.name().equals(rs.getString(2))) {
                        return gpus;
                    }
                    ReplicaWork w = work(rs.getString(3));
                    int may = !w.usesGpus() ? 0 : w.maxGpus() >= 0 ? w.maxGpus() : 1;
                    return Math.max(reported ? gpus : 0, may);
                }).stream().mapToInt(Integer::intValue).sum());
        int left = Math.max(0, quota - held);
        if (left == 0 && work.gpuLayers() > 0) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "project " + work.project() + " holds " + held + " of the "
                    + quota + " accelerators its quota allows, so replica " + replica.index() + " of deployment "
                    + replica.deployment() + " ('gpuLayers' " + work.gpuLayers() + ") waits for the project's GPUs to "
                    + "be given back; raise the quota (factory quotas set " + work.project()
                    + " --accelerators N), or leave gpuLayers out to run on CPUs meanwhile");
        }
        if (left == 0) {
            LOG.info("replica {} of deployment {} runs on CPUs: project {} holds {} of the {} accelerators its quota "
                    + "allows", replica.index(), replica.deployment(), work.project(), held, quota);
        }
        return work.limitedTo(left);
    }

    /** A replica of lower priority whose assignment may end to make room: what placement needs to know of it. */
    private record Victim(String assignment, String deployment, int replica, String model, String project,
                          int priority, long memory, int gpus) {}

    /** Where {@code victims}, ended, make room for a replica. */
    private record Preemption(Node node, List<Victim> victims) {}

    /**
     * Where ending replicas of deployments with a lower priority than {@code work}'s would make room for it, ending as
     * few as that takes: on each node of {@code open}, the lowest priorities first and, within one, the newest first,
     * until it fits; of those nodes, the one where the fewest end, then the one where the highest priority ended is the
     * lowest. Null where no such room is. Only loaded replicas end (one still loading is not in its worker's report
     * yet, and its first load would fail its deployment), each giving back the GPUs its worker reported it holds, or,
     * on the CPU, its memory estimate (a worker that did not say: one GPU for GPU work on a node with accelerators);
     * one that would give back nothing that is missing stays. A node where a replica still waits for the replicas
     * ended for it ends no more until it is loaded: their memory is in the node's report until they unload.
     */
    private @Nullable Preemption preemption(ReplicaWork work, List<Node> open,
                                            java.util.function.ToIntFunction<Node> freeGpus,
                                            java.util.function.ToLongFunction<Node> freeMemory) {
        if (open.isEmpty() || work.priority() <= ai.factory.serving.DeploymentSpec.MIN_PRIORITY) {
            return null;
        }
        Map<String, List<Victim>> lower = new HashMap<>();
        open.forEach(n -> lower.put(n.id(), new java.util.ArrayList<>()));
        java.util.Set<String> making = new java.util.HashSet<>(); // nodes where ended replicas still unload
        jdbi.useHandle(h -> h.createQuery("SELECT node_id, work, phase, gpus FROM replica_assignments "
                        + "ORDER BY created_at DESC, id")
                .map((rs, ctx) -> new Object[] {rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getObject(4) == null ? null : rs.getInt(4)}).forEach(row -> {
                    List<Victim> on = lower.get((String) row[0]);
                    if (on == null) {
                        return;
                    }
                    ReplicaWork w = work((String) row[1]);
                    boolean ready = Phase.READY.name().equals(row[2]);
                    if (!ready && !w.displaces().isEmpty()) {
                        making.add((String) row[0]);
                    }
                    if (ready && w.priority() < work.priority()) {
                        int gpus = row[3] != null ? (Integer) row[3] : w.usesGpus() ? 1 : 0;
                        on.add(new Victim(w.assignment(), w.deployment(), w.replica(), w.model(), w.project(),
                                w.priority(), w.memory(), gpus));
                    }
                }));
        Preemption best = null;
        for (Node n : open) {
            if (making.contains(n.id())) {
                continue;
            }
            List<Victim> there = lower.getOrDefault(n.id(), List.of()).stream()
                    .sorted(Comparator.comparingInt(Victim::priority)).toList();
            long memory = freeMemory.applyAsLong(n);
            int gpus = freeGpus.applyAsInt(n);
            List<Victim> ending = new java.util.ArrayList<>();
            for (Victim v : there) {
                if (fits(work, n, memory, gpus)) {
                    break;
                }
                boolean givesGpus = v.gpus() > 0 && inventoryOf(n).accelerators() > 0;
                boolean lacksMemory = hostNeed(work, n, gpus) > memory;
                // Only what helps ends: GPUs where one is missing (or, for GPU work short of memory, may hold it),
                // memory where that is short.
                if (givesGpus ? (work.gpuLayers() > 0 && gpus == 0) || (lacksMemory && work.usesGpus()) : lacksMemory) {
                    ending.add(v);
                    if (givesGpus) {
                        gpus += v.gpus();
                    } else {
                        memory = memory == Long.MAX_VALUE ? memory : memory + v.memory();
                    }
                }
            }
            if (ending.isEmpty() || !fits(work, n, memory, gpus)) {
                continue;
            }
            Preemption here = new Preemption(n, List.copyOf(ending));
            if (best == null || PREEMPTION_ORDER.compare(here, best) < 0) {
                best = here;
            }
        }
        return best;
    }

    private static final Comparator<Preemption> PREEMPTION_ORDER = Comparator
            .comparingInt((Preemption p) -> p.victims().size())
            .thenComparingInt(p -> p.victims().stream().mapToInt(Victim::priority).max().orElse(0))
            .thenComparing(p -> p.node().name());

    /** Whether {@code work} fits on {@code node} with {@code memory} free there and {@code gpus} of its GPUs. */
    private boolean fits(ReplicaWork work, Node node, long memory, int gpus) {
        return (work.gpuLayers() <= 0 || gpus > 0) && hostNeed(work, node, gpus) <= memory;
    }

    /** Where a replica that was ended to make room for another went, while it has no room of its own. */
    private final Map<ReplicaOf, String> preempted = new java.util.concurrent.ConcurrentHashMap<>();

    /** "; it was ended …" for a replica that was ended to make room for another, else nothing. */
    private String preempted(ReplicaOf replica) {
        String why = preempted.get(replica);
        return why == null ? "" : "; it was " + why;
    }

    /**
     * The host memory {@code work} takes on {@code node}: only the model's file, held while it loads, where the node's
     * {@code freeGpus} hold the whole replica (its layers go there, as the worker's own plan puts them); else all of it,
     * as a replica on the CPU or split between the GPUs and the CPU may need.
     */
    private long hostNeed(ReplicaWork work, Node node, int freeGpus) {
        return holdsOnGpus(work, node, freeGpus) ? work.bytes() : work.memory();
    }

    /** Whether {@code freeGpus} of the node's GPUs hold all of GPU work {@code work} (by its smallest GPU's memory). */
    private boolean holdsOnGpus(ReplicaWork work, Node node, int freeGpus) {
        long perGpu = inventoryOf(node).gpuMemory();
        int mayUse = work.maxGpus() < 0 ? freeGpus : Math.min(freeGpus, work.maxGpus());
        return work.usesGpus() && mayUse > 0 && perGpu > 0 && (double) mayUse * perGpu >= work.memory();
    }

    /**
     * What placement reads of a node's inventory, read once per inventory it reports (placement looks at every node):
     * its host memory in all and available (-1 where it gave none), its accelerators, how many of them have a known
     * memory and the memory of the smallest (-1: none), and the GPUs it last reported free for replicas
     * ({@code gpusFree}: the worker gives its replicas GPUs itself).
     */
    record Inventory(String raw, long total, long available, int accelerators, int gpus, long gpuMemory,
                     int gpusFree) {}

    private final Map<String, Inventory> inventories = new java.util.concurrent.ConcurrentHashMap<>();

    Inventory inventoryOf(Node node) {
        Inventory known = inventories.get(node.id());
        if (known != null && known.raw().equals(node.inventory())) {
            return known;
        }
        long total = -1;
        long available = -1;
        long gpuMemory = -1;
        int accelerators = 0;
        int gpus = 0;
        int gpusFree = 0;
        try {
            JsonNode inventory = Json.mapper().readTree(node.inventory());
            JsonNode m = inventory.path("memory");
            total = m.path("total").canConvertToLong() ? Math.max(0, m.path("total").asLong()) : -1;
            available = m.path("available").canConvertToLong() ? Math.max(0, m.path("available").asLong()) : -1;
            accelerators = inventory.path("accelerators").size();
            gpusFree = Math.max(0, Math.min(1_000, inventory.path("gpusFree").asInt(0)));
            for (JsonNode a : inventory.path("accelerators")) {
                long each = a.path("memoryTotal").asLong(-1);
                if (each > 0) {
                    gpuMemory = gpuMemory < 0 ? each : Math.min(gpuMemory, each);
                    gpus++;
                }
            }
        } catch (JsonProcessingException e) {
            LOG.debug("node {} reported an inventory that is not JSON: {}", node.name(), e.getOriginalMessage());
        }
        Inventory read = new Inventory(node.inventory(), total, available, accelerators, gpus, gpuMemory, gpusFree);
        inventories.put(node.id(), read);
        return read;
    }

    private static String gib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** Every node of the cluster now, by id. */
    Map<String, Node> nodesNow() {
        Map<String, Node> out = new HashMap<>();
        nodes.recent().forEach(n -> out.put(n.id(), n));
        return out;
    }

    /** Whether a node counts as up: in the cluster and heard from within the heartbeat deadline. */
    boolean up(Node node) {
        return nodes.up(node, deadline);
    }

    /** How long a node may go without a heartbeat. */
    Duration deadline() {
        return deadline;
    }

    /** The nodes that can take a replica now: ready (not draining or removed), up, and serving. */
    private List<Node> serving() {
        return nodes.recent().stream().filter(this::serving).toList();
    }

    private boolean serving(@Nullable Node n) {
        return n != null && n.state() == NodeState.READY && nodes.up(n, deadline) && n.servingPort() > 0;
    }

    /** An assignment as recorded: its work, the node it is on, and how that node last reported it. */
    private record Row(ReplicaWork work, String node, @Nullable Reported reported, @Nullable String load) {}

    private static final String ROW = "SELECT work, node_id, phase, detail, info, load_report, gpus "
            + "FROM replica_assignments";

    private static Row row(java.sql.ResultSet rs) throws java.sql.SQLException {
        ReplicaWork work = work(rs.getString(1));
        String phase = rs.getString(3);
        Reported reported = null;
        if (phase != null) {
            String info = rs.getString(5);
            reported = new Reported(work.assignment(), Phase.valueOf(phase), rs.getString(4),
                    info == null ? null : read(info, TextModelInfo.class),
                    rs.getObject(7) == null ? null : rs.getInt(7));
        }
        return new Row(work, rs.getString(2), reported, rs.getString(6));
    }

    /** The recorded assignments of {@code replica}, oldest first. */
    private List<Row> recorded(ReplicaOf replica) {
        return jdbi.withHandle(h -> h.createQuery(ROW + " WHERE deployment_id = :d AND replica = :r "
                        + "ORDER BY created_at, id").bind("d", replica.deployment()).bind("r", replica.index())
                .map((rs, ctx) -> row(rs)).list());
    }

    /**
     * How long an assignment beyond its deployment's replica count (it was scaled down) is kept: the replicas that
     * left finish their calls for up to two minutes, and a count read a moment before a scale-up is soon read anew.
     */
    static final java.time.Duration BEYOND_COUNT_GRACE = java.time.Duration.ofMinutes(2).plusSeconds(30);
    /** Assignments found beyond their deployment's count, and since when. */
    private final Map<String, java.time.Instant> beyondSince = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Ends the assignments of deployments not in {@code live} (left by a control plane that stopped mid-delete) at
     * once, and those of replicas beyond a deployment's count (it was scaled down) once they have been beyond it for
     * {@link #BEYOND_COUNT_GRACE}; the leader's work, so a follower leaves them.
     *
     * @param live each deployment's replica count, by id
     */
    public void retainDeployments(Map<String, Integer> live) {
        if (!leadership.isLeader()) {
            return;
        }
        java.time.Instant now = clock.instant();
        List<String> stale = new java.util.ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        jdbi.useHandle(h -> h.createQuery("SELECT id, deployment_id, replica FROM replica_assignments")
                .map((rs, ctx) -> new Object[] {rs.getString(1), rs.getString(2), rs.getInt(3)}).forEach(row -> {
                    String id = (String) row[0];
                    seen.add(id);
                    Integer count = live.get((String) row[1]);
                    if (count == null) {
                        stale.add(id);
                    } else if ((int) row[2] >= count) {
                        if (!beyondSince.computeIfAbsent(id, k -> now).plus(BEYOND_COUNT_GRACE).isAfter(now)) {
                            stale.add(id);
                        }
                    } else {
                        beyondSince.remove(id);
                    }
                }));
        beyondSince.keySet().retainAll(seen);
        preempted.keySet().removeIf(r -> live.getOrDefault(r.deployment(), 0) <= r.index());
        stale.forEach(this::remove);
        stale.forEach(beyondSince::remove);
        if (!stale.isEmpty()) {
            LOG.info("ended {} assignment(s) of deployments or replicas that no longer exist", stale.size());
        }
    }

    /** The node an assignment is on, while both exist. */
    public Optional<Node> nodeOf(String assignment) {
        return jdbi.withHandle(h -> h.createQuery("SELECT node_id FROM replica_assignments WHERE id = :id")
                .bind("id", assignment).mapTo(String.class).findOne()).flatMap(id -> nodes.recent().stream()
                .filter(n -> n.id().equals(id) && n.state() != NodeState.REMOVED).findFirst());
    }

    /** The replicas every node is to run, by node id, each in the order they were assigned: one query for all. */
    public Map<String, List<ReplicaWork>> byNode() {
        Map<String, List<ReplicaWork>> out = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery(ROW + " ORDER BY created_at, id").map((rs, ctx) -> row(rs))
                .forEach(row -> out.computeIfAbsent(row.node(), n -> new java.util.ArrayList<>()).add(row.work())));
        return out;
    }

    /** The replicas node {@code nodeId} is to run, in the order they were assigned. */
    public List<ReplicaWork> forNode(String nodeId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT work FROM replica_assignments WHERE node_id = :n "
                + "ORDER BY created_at, id").bind("n", nodeId).mapTo(String.class).list()).stream()
                .map(Assignments::work).toList();
    }

    /**
     * The work of assignment {@code assignment} when node {@code nodeId} holds it; FORBIDDEN otherwise (a node gets
     * the blobs and keys of its own replicas only).
     */
    public ReplicaWork ofNode(String nodeId, String assignment) {
        return forNode(nodeId).stream().filter(w -> w.assignment().equals(assignment)).findFirst()
                .orElseThrow(() -> new FactoryException(ErrorCode.FORBIDDEN, "assignment '" + assignment
                        + "' is not this node's"));
    }

    /**
     * What node {@code nodeId} reported of its replicas, all of them: one of its assignments it did not report is not
     * running there (the worker restarted), so a ready it reported before no longer counts. Reports of assignments
     * that are not its own are ignored. Returns the replicas the node is to run, for the heartbeat's answer.
     */
    public List<ReplicaWork> report(String nodeId, List<Reported> reports, Map<String, EngineLoad> loads) {
        List<Row> rows = jdbi.withHandle(h -> h.createQuery(ROW + " WHERE node_id = :n ORDER BY created_at, id")
                .bind("n", nodeId).map((rs, ctx) -> row(rs)).list());
        Map<String, Reported> named = new HashMap<>();
        reports.forEach(r -> named.put(r.assignment(), r));
        writeLoads(nodeId, rows, loads);
        boolean any = false;
        for (Row row : rows) {
            Reported now = named.get(row.work().assignment());
            if (java.util.Objects.equals(now, row.reported())) {
                continue;
            }
            any = true;
            write(row.work().assignment(), now);
            if (now != null && now.phase() == Phase.FAILED) {
                LOG.warn("node {}: replica {} failed: {}", nodeId, now.assignment(), now.detail());
            }
        }
        if (any) {
            synchronized (changed) {
                changed.notifyAll();
            }
        }
        return rows.stream().map(Row::work).toList();
    }

    /**
     * Records how busy the node's replicas are, those that changed, in one transaction. Only shown to people, so a
     * failure is logged and the heartbeat goes on; and no reason to wake those awaiting a replica's state.
     */
    private void writeLoads(String nodeId, List<Row> rows, Map<String, EngineLoad> loads) {
        Map<String, @Nullable String> changed = new java.util.TreeMap<>();
        for (Row row : rows) {
            String load = json(loads.get(row.work().assignment()));
            if (!java.util.Objects.equals(load, row.load())) {
                changed.put(row.work().assignment(), load);
            }
        }
        if (changed.isEmpty()) {
            return;
        }
        try {
            jdbi.useTransaction(h -> {
                var batch = h.prepareBatch("UPDATE replica_assignments SET load_report = :load WHERE id = :id");
                changed.forEach((id, load) -> batch.bind("load", load).bind("id", id).add());
                batch.execute();
            });
        } catch (org.jdbi.v3.core.JdbiException e) {
            LOG.warn("node {}: cannot record its replicas' load: {}", nodeId, e.getMessage());
        }
    }

    /** How busy the worker last reported each of node {@code nodeId}'s ready replicas, by assignment. */
    public Map<String, EngineLoad> loadsOfNode(String nodeId) {
        Map<String, EngineLoad> out = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("SELECT id, load_report FROM replica_assignments WHERE node_id = :n "
                        + "AND load_report IS NOT NULL").bind("n", nodeId)
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                .forEach(e -> out.put(e.getKey(), read(e.getValue(), EngineLoad.class))));
        return out;
    }

    /** Records how a worker reported an assignment (null: it runs it no longer, or not yet). */
    private void write(String assignment, @Nullable Reported r) {
        String info;
        try {
            info = r == null || r.info() == null ? null : Json.mapper().writeValueAsString(r.info());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a replica's report: " + e.getMessage(), e);
        }
        jdbi.useHandle(h -> h.createUpdate("UPDATE replica_assignments SET phase = :phase, detail = :detail, "
                        + "info = :info, gpus = :gpus WHERE id = :id").bind("phase", r == null ? null : r.phase().name())
                .bind("detail", r == null ? null : r.detail()).bind("info", info)
                .bind("gpus", r == null ? null : r.gpus()).bind("id", assignment).execute());
    }

    private static @Nullable String json(@Nullable EngineLoad load) {
        try {
            return load == null ? null : Json.mapper().writeValueAsString(load);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a replica's load: " + e.getMessage(), e);
        }
    }

    /** How the worker last reported an assignment, if it did (as recorded, whichever control replica it told). */
    public Optional<Reported> reported(String assignment) {
        return recorded(assignment).flatMap(Recorded::reported);
    }

    /** A recorded assignment: how its worker last reported it, if it did. */
    public record Recorded(Optional<Reported> reported) {}

    /** The assignment as recorded; empty once it has ended (or never was). */
    public Optional<Recorded> recorded(String assignment) {
        return jdbi.withHandle(h -> h.createQuery(ROW + " WHERE id = :id").bind("id", assignment)
                .map((rs, ctx) -> row(rs)).findOne()).map(r -> new Recorded(Optional.ofNullable(r.reported())));
    }

    /**
     * Waits until the worker reports the assignment ready (returned) or failed (INVALID_REQUEST with its reason), its
     * node goes down or is removed (UNAVAILABLE), or {@code timeout} passes (UNAVAILABLE).
     */
    public Reported awaitReady(String assignment, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            Reported r = reported(assignment).orElse(null);
            if (r != null && r.phase() == Phase.READY && r.info() != null) {
                return r;
            }
            if (r != null && r.phase() == Phase.FAILED) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, r.detail());
            }
            Optional<Node> node = nodeOf(assignment);
            if (node.isEmpty() || !nodes.up(node.get(), deadline)) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "the node running assignment " + assignment
                        + node.map(n -> " (" + n.name() + ") went down").orElse(" was removed or the assignment ended"));
            }
            long left = end - System.nanoTime();
            if (left <= 0) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "node " + node.get().name() + " did not load "
                        + "assignment " + assignment + " within " + timeout.toSeconds() + " s");
            }
            synchronized (changed) {
                // Woken by a report to this replica; one to another control-plane replica is read at the next turn.
                changed.wait(Math.max(1, Math.min(left / 1_000_000, 250)));
            }
        }
    }

    /**
     * Ends an assignment: its worker unloads the replica after its next heartbeat. The leader's work: UNAVAILABLE on a
     * control-plane replica that does not lead.
     */
    public void remove(String assignment) {
        jdbi.useTransaction(h -> {
            leadership.fence(h);
            h.createUpdate("DELETE FROM replica_assignments WHERE id = :id").bind("id", assignment).execute();
        });
    }

    /** Whether this control-plane replica leads, and so makes and ends assignments. */
    public boolean leads() {
        return leadership.isLeader();
    }

    /** Audits that node {@code nodeId} was given the data key of assignment {@code work}. */
    public void keyReleased(String nodeId, ReplicaWork work) {
        audit.accept(new AuditEvent(clock.instant(), nodeId, nodeId, Principal.DEFAULT_PROJECT, AUDIT_KEY_RELEASED,
                "model=" + work.model(), AuditEvent.ALLOW, AuditEvent.SUCCESS, 0, "factory", work.assignment(), 0, 0,
                0, 0, "data key of blob " + work.sha256() + " for replica " + work.replica() + " of deployment "
                + work.deployment()));
    }

    private static ReplicaWork work(String json) {
        return read(json, ReplicaWork.class);
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            return Json.mapper().readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an assignment's " + type.getSimpleName() + " does not read back: "
                    + e.getMessage(), e);
        }
    }
}
