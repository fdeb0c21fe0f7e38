package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Engine;
import ai.factory.engine.Vocabulary;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.tls.ServerIdentity;
import ai.factory.serving.DeploymentSpec;
import ai.factory.serving.EngineLoader;
import ai.factory.serving.MemoryPlanner;
import ai.factory.serving.ReplicaOf;
import ai.factory.serving.ReplicaPlacement;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine loader of a control plane ({@code cluster.role: control}): a text model's replica is assigned to a
 * worker ({@link Assignments}), which fetches the encrypted model, is given its data key, loads it and reports it
 * ready; the replica is then a {@link RemoteTextEngine} that calls it over mutual TLS with the control plane's own
 * certificate. Other models (the bundled embedding model) load here, through {@code local}.
 *
 * <p>It also keeps the replicas where they can serve. Every third of the heartbeat deadline it looks at each: one
 * whose worker missed the deadline, was removed, or reports it failed stops taking calls at once (calls in flight on
 * it end as UNAVAILABLE) and is placed again on the remaining workers; one on a draining worker is placed again while
 * it keeps serving, takes calls on its new worker once that one has it ready, and leaves the drained worker when its
 * last call there ended. A replica that no worker can take now is tried again at the next look.
 *
 * <p>With several control-plane replicas, only the leader ({@link Leadership}) places and moves replicas. The others
 * follow: a replica loads once the leader's assignment of it is ready, and from then on calls go to the newest ready
 * assignment of it; one whose worker went down stops taking calls until the leader has placed it again.
 */
public final class WorkerEngines implements EngineLoader, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerEngines.class);

    private final Assignments assignments;
    private final ModelRegistry registry;
    private final EngineLoader local;
    private final HttpClient http;
    private final Duration loadTimeout;
    private final Vocabularies vocabularies;
    private final Set<RemoteTextEngine> engines = ConcurrentHashMap.newKeySet();
    private final Set<RemoteTextEngine> moving = ConcurrentHashMap.newKeySet();
    private final Thread supervisor;
    private volatile boolean stopping;
    /**
     * From when (System.nanoTime) a worker's silence counts against it: one heartbeat deadline after this control plane's
     * cluster port opened, since workers could not report to it before. Until then, none is judged down.
     */
    private volatile long judgeFrom = Long.MAX_VALUE;

    /**
     * @param identity the control plane's client certificate ({@code ClusterCa.controlPlaneIdentity})
     * @param clusterCa the CA whose certificates the workers' serving ports present
     * @param loadTimeout how long a worker may take from the assignment to a ready replica
     * @param vocabularies loads a text model's vocabulary here, so that its replicas tokenize here (may throw: they
     *     then ask their workers)
     */
    public WorkerEngines(Assignments assignments, ModelRegistry registry, EngineLoader local, ServerIdentity identity,
                         X509Certificate clusterCa, Duration loadTimeout,
                         Function<ModelVersion, Vocabulary> vocabularies) {
        this.assignments = requireNonNull(assignments, "assignments is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.local = requireNonNull(local, "local is null");
        this.http = MutualTls.client(identity.key(), identity.chain(), clusterCa);
        this.loadTimeout = requireNonNull(loadTimeout, "loadTimeout is null");
        this.vocabularies = new Vocabularies(vocabularies);
        this.supervisor = Thread.ofVirtual().name("replica-supervisor").start(this::supervise);
    }

    @Override
    public Engine load(ReplicaOf replica, ModelVersion version, DeploymentSpec spec, ReplicaPlacement placement) {
        if (version.format() != ModelFormat.GGUF) {
            return local.load(replica, version, spec, placement);
        }
        ModelRegistry.FileBlob blob = registry.fileBlob(version, version.files().getFirst().path());
        // The assignment's id is given when it is placed.
        Assignments.Placed placed = placeWaiting(replica, new ReplicaWork("", replica.deployment(),
                replica.index(), version.ref().toString(), blob.owner(), blob.sha256(), blob.bytes(),
                spec.effectiveContext(version), spec.parallel(), spec.threads(), spec.queue(), spec.stepTokens(),
                spec.cacheType().id(), spec.prefixCache(), spec.gpuLayers(), MemoryPlanner.of(version, spec).total(),
                spec.priority(), List.of(), registry.get(version.model()).project(), ReplicaWork.ANY_GPUS));
        heartbeatNow(placed.node());
        Assignments.Reported ready = awaitReady(placed);
        RemoteTextEngine engine = new RemoteTextEngine(target(placed), http, requireNonNull(ready.info()),
                vocabularies.acquire(version), engines::remove);
        engines.add(engine);
        return engine;
    }

    /**
     * This control plane's cluster port is open: workers report to it from now on, so one heartbeat deadline from now
     * a worker that has not is down (a control plane that restarted finds every worker's last heartbeat old).
     */
    public void listening() {
        judgeFrom = System.nanoTime() + assignments.deadline().toNanos();
    }

    /** Replicas on workers (GGUF models) load each on its own worker, at the same time; others load here. */
    @Override
    public boolean loadsTogether(ModelVersion version) {
        return version.format() == ModelFormat.GGUF;
    }

    /**
     * Where the replica runs: where it ran before, if its worker serves; else on a worker chosen now. While workers
     * exist but none can take it (a control plane that just started has not heard from them yet; the worker that ran
     * it may be restarting, and keeps its assignment for two heartbeat deadlines), it waits, up to the load timeout;
     * with no worker in the cluster at all it fails at once, saying how to add one.
     */
    private Assignments.Placed placeWaiting(ReplicaOf replica, ReplicaWork work) {
        long start = System.nanoTime();
        long grace = assignments.deadline().multipliedBy(2).toNanos();
        boolean told = false;
        while (true) {
            boolean giveUp = System.nanoTime() - start > grace;
            Optional<Assignments.Placed> before = assignments.existing(replica, giveUp);
            if (before.isPresent()) {
                return before.get();
            }
            if (assignments.leads() && !assignments.recordedAnywhere(replica)) {
                try {
                    return assignments.place(replica, work);
                } catch (FactoryException e) {
                    if (e.code() != ErrorCode.UNAVAILABLE || !assignments.anyNode()
                            || System.nanoTime() - start > loadTimeout.toNanos()) {
                        throw e;
                    }
                    if (!told) {
                        LOG.info("replica {} of deployment {} waits for a worker: {}", replica.index(),
                                replica.deployment(), e.getMessage());
                        told = true;
                    }
                }
            } else if (!assignments.leads() && System.nanoTime() - start > loadTimeout.toNanos()) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "the leading control-plane replica placed no "
                        + "replica " + replica.index() + " of deployment " + replica.deployment() + " on a worker within "
                        + loadTimeout.toSeconds() + " s");
            }
            try {
                Thread.sleep(Math.max(100, assignments.deadline().toMillis() / 3));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FactoryException(ErrorCode.UNAVAILABLE, "stopped while replica " + replica.index()
                        + " of deployment " + replica.deployment() + " waited for a worker");
            }
        }
    }

    /**
     * Asks the worker for its next heartbeat now, so that it learns of a new assignment without waiting out its
     * interval. Best effort, in the background: a worker that does not answer learns of it at its next heartbeat.
     */
    private void heartbeatNow(Node node) {
        if (node.servingPort() <= 0) {
            return;
        }
        URI uri = URI.create("https://" + hostOf(node.address()) + ":" + node.servingPort() + ReplicaCalls.HEARTBEAT_NOW);
        http.sendAsync(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding())
                .exceptionally(e -> {
                    LOG.debug("node {} did not take the call for a heartbeat now: {}", node.name(), e.getMessage());
                    return null;
                });
    }

    /** Waits for the worker to report the assignment ready; the assignment ends if it does not. */
    private Assignments.Reported awaitReady(Assignments.Placed placed) {
        String id = placed.work().assignment();
        try {
            return assignments.awaitReady(id, loadTimeout);
        } catch (InterruptedException e) {
            if (!stopping) {
                end(id); // a control plane that stops leaves it to the next start
            }
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "stopped while node " + placed.node().name()
                    + " loaded a replica of " + placed.work().model());
        } catch (RuntimeException e) {
            end(id);
            throw e;
        }
    }

    /** Ends an assignment when this replica leads; a follower leaves that to the leader. */
    private void end(String assignment) {
        if (assignments.leads()) {
            try {
                assignments.remove(assignment);
            } catch (FactoryException e) {
                LOG.debug("assignment {} stays for the leader: {}", assignment, e.getMessage());
            }
        }
    }

    private RemoteTextEngine.Target target(Assignments.Placed placed) {
        String id = placed.work().assignment();
        return new RemoteTextEngine.Target(placed.work(), placed.node(), () -> {
            if (!stopping) {
                end(id);
            }
        });
    }

    private void supervise() {
        long every = Math.max(100, assignments.deadline().toMillis() / 3);
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(every);
                look();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("looking at the replicas on workers failed: {}", e.getMessage(), e);
            }
        }
    }

    /** One look at every replica: see the class comment. */
    void look() {
        if (engines.isEmpty()) {
            return;
        }
        Map<String, Node> nodes = assignments.nodesNow();
        for (RemoteTextEngine engine : engines) {
            if (engine.closed()) {
                continue;
            }
            // A replica that is moving is still watched: its worker may go down while the new one loads.
            RemoteTextEngine.Target target = engine.target();
            if (target == null) {
                if (assignments.leads()) {
                    move(engine, "it has no worker");
                } else {
                    follow(engine, null);
                }
                continue;
            }
            Node node = nodes.get(target.node.id());
            Optional<Assignments.Recorded> recorded = assignments.recorded(target.work.assignment());
            Optional<Assignments.Reported> reported = recorded.flatMap(Assignments.Recorded::reported);
            boolean up = node != null && node.state() != NodeState.REMOVED
                    && (assignments.up(node) || System.nanoTime() < judgeFrom);
            boolean failed = reported.map(r -> r.phase() == Assignments.Phase.FAILED).orElse(false);
            boolean ready = reported.map(r -> r.phase() == Assignments.Phase.READY).orElse(false);
            engine.healthy(up && ready);
            engine.gpus(reported.map(Assignments.Reported::gpus).orElse(null));
            if (!assignments.leads()) {
                if (!up || failed) {
                    engine.detach();
                }
                follow(engine, up && !failed ? target : null);
                continue;
            }
            if (!up || failed) {
                String why = node == null || node.state() == NodeState.REMOVED ? "was removed"
                        : !up ? "missed its heartbeat deadline"
                        : "reports it failed: " + reported.map(Assignments.Reported::detail).orElse("");
                LOG.warn("replica {} of {}: node {} {}; {} call(s) in flight there end, and it is placed again",
                        target.work.replica(), target.work.model(), target.node.name(), why, target.inFlight());
                engine.detach();
                move(engine, "node " + target.node.name() + " " + why);
            } else if (node != null && node.state().emptying()) {
                move(engine, "node " + target.node.name() + " is " + node.state().id());
            } else if (recorded.isEmpty() && engine.target() == target && live(target.work)) {
                // Ended by placement, to make room for a replica of a higher priority: its worker finishes the calls
                // it has, and it is placed again where there is room, or waits for room.
                move(engine, "its assignment on node " + target.node.name() + " was ended");
            }
        }
    }

    /**
     * On a follower: calls go to the newest ready assignment of the replica that the leader made, when that is not
     * {@code current} (the replica moved, or its worker went down).
     */
    private void follow(RemoteTextEngine engine, RemoteTextEngine.@Nullable Target current) {
        ReplicaWork work = engine.work();
        Optional<Assignments.Placed> newest = assignments.existing(new ReplicaOf(work.deployment(), work.replica()),
                false);
        if (newest.isEmpty() || (current != null
                && newest.get().work().assignment().equals(current.work.assignment()))) {
            return;
        }
        boolean ready = assignments.reported(newest.get().work().assignment())
                .map(r -> r.phase() == Assignments.Phase.READY).orElse(false);
        if (ready) {
            engine.attach(target(newest.get()));
            engine.healthy(true);
            LOG.info("replica {} of {} serves from node {} (placed by the leader)", work.replica(), work.model(),
                    newest.get().node().name());
        }
    }

    /** Places a replica again, on a task of its own, and attaches it once ready; tried again at the next look. */
    private void move(RemoteTextEngine engine, String why) {
        ReplicaWork work = withProject(engine.work());
        if (!moving.add(engine)) {
            return;
        }
        Thread.ofVirtual().name("replica-move-" + work.deployment() + "-" + work.replica()).start(() -> {
            try {
                Assignments.Placed placed = assignments.place(new ReplicaOf(work.deployment(), work.replica()), work);
                LOG.info("replica {} of {} moves to node {} ({})", work.replica(), work.model(), placed.node().name(),
                        why);
                heartbeatNow(placed.node());
                awaitReady(placed);
                engine.attach(target(placed));
                engine.healthy(true);
                LOG.info("replica {} of {} serves from node {}", work.replica(), work.model(), placed.node().name());
            } catch (FactoryException e) {
                engine.placementFailed(String.valueOf(e.getMessage()));
                LOG.warn("replica {} of {} could not move ({}): {}; trying again", work.replica(), work.model(), why,
                        e.getMessage());
            } finally {
                moving.remove(engine);
            }
        });
    }

    /**
     * {@code work} with its deployment's project, which an assignment recorded before quotas counted GPUs lacks, so
     * that the replica placed again counts against it.
     */
    private ReplicaWork withProject(ReplicaWork work) {
        if (!work.project().isEmpty()) {
            return work;
        }
        try {
            String project = registry.get(ai.factory.models.ModelRef.parse(work.model()).name()).project();
            return work.withProject(project);
        } catch (FactoryException e) {
            return work; // the model is gone: its deployment is being deleted
        }
    }

    /** Ends the assignments of deployments and replicas not in {@code live} (see {@link Assignments#retainDeployments}). */
    public void retainDeployments(Map<String, Integer> live) {
        this.live = Map.copyOf(live);
        assignments.retainDeployments(live);
    }

    /** Each deployment's replica count as last given to {@link #retainDeployments}; null before. */
    private volatile @Nullable Map<String, Integer> live;

    /** Whether {@code work}'s replica still belongs to a deployment, as far as this replica knows. */
    private boolean live(ReplicaWork work) {
        Map<String, Integer> known = live;
        return known == null || known.getOrDefault(work.deployment(), 0) > work.replica();
    }

    /** A replica's worker, and the GPUs it holds there (null where the worker did not say). */
    public record Where(String node, @Nullable Integer gpus) {}

    /** Where {@code replica} runs, if it is a replica on a worker that is placed now. */
    public static Optional<Where> where(ai.factory.engine.Engine replica) {
        return replica instanceof RemoteTextEngine remote ? remote.where() : Optional.empty();
    }

    /** An address as the host of a URI (IPv6 literals in brackets). */
    public static String hostOf(String address) {
        return address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
    }

    /**
     * The control plane is stopping: the replicas it closes from now on keep their assignments, so the workers go on
     * running them and the next start finds them there. Called before the deployments close their engines.
     */
    public void stopping() {
        stopping = true;
        supervisor.interrupt();
    }

    /** After the deployments closed their engines: the client to the workers goes too. */
    @Override
    public void close() {
        stopping();
        http.close();
    }
}
