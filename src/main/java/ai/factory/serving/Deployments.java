package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.PausePoints;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Engine;
import ai.factory.engine.EngineLoad;
import ai.factory.engine.TextEngine;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.identity.Principal;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.models.gguf.GgufMetadata;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deployments of this node: which model versions are in service and the engine replicas serving them.
 * Deployments are recorded in the database (the {@code deployments} table) so they come back after a restart;
 * engines live in memory and load in the background. Each deployment is one live record whose
 * {@link DeploymentState} (Pending → Loading → Ready, or Failed with the reason; Draining once deleted) carries what it
 * holds, and moves only as the lifecycle allows; a call reaches the least busy ready replica of its model.
 *
 * <p>A load runs on a task of its own, and whatever ends it, a {@link FactoryException} saying why the model can't be
 * served or any other exception or error, ends it in one place: the engines it opened are closed, its GPUs given
 * back, the deployment marked failed with the reason, and the failure logged. A deployment deleted while it loads is
 * drained by its load, which stops at its next step and gives back what it holds.
 */
public final class Deployments implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Deployments.class);

    private final DeploymentsTable table;
    private final ModelRegistry registry;
    private final EngineLoader loader;
    private final MemoryPlanner memory;
    private final GpuPlacements gpus;
    private final java.util.function.ToIntFunction<String> acceleratorQuota;
    private final Clock clock;
    private final Map<String, LiveDeployment> deployments = new ConcurrentHashMap<>();
    private final ExecutorService loading = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("deployment-loader-", 0).factory());
    /** Held while the set of deployments changes here and in the table together (deploy, delete, {@link #sync}). */
    private final Object membership = new Object();
    private volatile @Nullable Thread follower;
    /** Set under {@link #membership} when closing begins: {@link #sync} takes up nothing more. */
    private boolean closing;

    public Deployments(Jdbi jdbi, ModelRegistry registry, EngineLoader loader, MemoryPlanner memory,
                       GpuPlacements gpus, Clock clock) {
        this(jdbi, registry, loader, memory, gpus, project -> GpuPlacements.ANY_GPUS, clock);
    }

    /** @param acceleratorQuota the most GPUs a project's replicas may hold here, by project (-1: no limit) */
    public Deployments(Jdbi jdbi, ModelRegistry registry, EngineLoader loader, MemoryPlanner memory,
                       GpuPlacements gpus, java.util.function.ToIntFunction<String> acceleratorQuota, Clock clock) {
        this.acceleratorQuota = requireNonNull(acceleratorQuota, "acceleratorQuota is null");
        this.table = new DeploymentsTable(requireNonNull(jdbi, "jdbi is null"));
        this.registry = requireNonNull(registry, "registry is null");
        this.loader = requireNonNull(loader, "loader is null");
        this.memory = requireNonNull(memory, "memory is null");
        this.gpus = requireNonNull(gpus, "gpus is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Whose deployment holds GPUs here, by deployment id, for {@link #gpusLeft}. */
    private final Map<String, String> projectOfReservation = new ConcurrentHashMap<>();
    private final Object quotaLock = new Object();

    /**
     * The GPUs {@code project}'s accelerator quota leaves deployment {@code id} ({@link GpuPlacements#ANY_GPUS}: no
     * limit): the quota less what the GPU allocator says the project's other deployments hold here.
     */
    private int gpusLeft(String id, String project) {
        int quota = acceleratorQuota.applyAsInt(project);
        if (quota < 0) {
            return GpuPlacements.ANY_GPUS;
        }
        int held = gpus.allocator().allocations().stream().filter(a -> {
            String deployment = GpuPlacements.deploymentOf(a.owner());
            return !deployment.equals(id) && project.equals(projectOfReservation.get(deployment));
        }).mapToInt(a -> a.gpus().size()).sum();
        return Math.max(0, quota - held);
    }

    /** Starts loading every recorded deployment; one that can't load is marked failed, the others carry on. */
    public void restore() {
        for (Deployment d : table.recorded()) {
            LiveDeployment live = new LiveDeployment(d, List.of());
            deployments.put(d.id(), live);
            startLoading(live);
        }
    }

    /**
     * Deploys a model version; it loads in the background. Refused at once when it can't fit in memory or its heads
     * can't be stored in the cache type asked for.
     */
    public Deployment deploy(ModelRef ref, DeploymentSpec spec, Principal by) {
        ModelVersion version = registry.resolve(ref);
        registry.checkLoadable(version); // refused now, rather than as a deployment that fails
        checkCacheType(version, spec);
        String id = "dep-" + UUID.randomUUID();
        String project = registry.get(version.model()).project();
        List<ReplicaPlacement> placed = reserve(id, project, version, spec, true);
        Deployment d = new Deployment(id, project, version.model(), version.version(), spec,
                new DeploymentState.Pending(), clock.instant(), by.id());
        LiveDeployment live = new LiveDeployment(d, placed);
        synchronized (membership) {
            try {
                table.insert(d);
            } catch (RuntimeException e) {
                gpus.release(id, spec.replicas());
                memory.release(id);
                throw e;
            }
            deployments.put(id, live);
        }
        LOG.info("deployment {} of {}:{} created ({} replica(s), parallel {}, {})", id,
                d.model(), d.version(), spec.replicas(), spec.parallel(), describe(placed));
        startLoading(live);
        return d;
    }

    /** How long a replica that leaves a scaled-down deployment waits for its calls in flight before it closes. */
    private static final Duration LEAVE_GRACE = Duration.ofMinutes(2);
    /** How long a leaving replica waits before it looks at its calls: a call that chose it just before it left. */
    private static final Duration LEAVE_FIRST = Duration.ofSeconds(3);
    /** Replicas that left a scaled-down deployment and close once their calls end; closed by {@link #close} too. */
    private final java.util.Set<Engine> leaving = ConcurrentHashMap.newKeySet();

    /** How long a scale waits for the change before it to end once all its replicas serve. */
    static final Duration SCALE_WAIT = Duration.ofSeconds(3);

    /**
     * Changes a ready deployment's replica count and records it: new replicas load in the background, one after
     * another, each taking calls as soon as it is loaded; replicas that leave take no new calls, and close once the
     * calls they have ended (at most {@link #LEAVE_GRACE}). Answers the deployment with the new count. CONFLICT unless
     * it is ready, while another change of it is under way (replicas that left still finishing their calls, for a
     * scale-up), and for one with replicas on GPUs; INVALID_REQUEST on {@code replicas}, with the numbers and nothing
     * changed, when the new replicas do not fit in free memory.
     */
    public Deployment scale(String id, int replicas) {
        LiveDeployment live = deployments.get(id);
        if (live == null) {
            throw notFound(id);
        }
        live.snapshot().spec().withReplicas(replicas); // a count out of range is refused before anything is held
        // A change that is ending (its last replica just took calls) is waited for: a caller that saw every replica
        // ready and scales again is not refused for the moment between the two.
        if (!claimScaling(live)) {
            throw new FactoryException(ErrorCode.CONFLICT, "deployment " + id + " is being scaled already; scale it "
                    + "again once its replicas are all ready");
        }
        Deployment d = live.snapshot();
        DeploymentSpec target;
        try {
            target = d.spec().withReplicas(replicas);
            if (!(d.state() instanceof DeploymentState.Ready)) {
                throw new FactoryException(ErrorCode.CONFLICT, "deployment " + id + " is " + d.state().id()
                        + "; scale it once it is ready");
            }
            if (live.placements().stream().anyMatch(ReplicaPlacement::onGpu)) {
                throw new FactoryException(ErrorCode.CONFLICT, "deployment " + id + " has replicas on GPUs, which "
                        + "cannot be scaled in place yet; delete it and deploy again with 'replicas' " + replicas);
            }
            if (replicas > d.spec().replicas() && live.leaving.get() > 0) {
                throw new FactoryException(ErrorCode.CONFLICT, "deployment " + id + " has " + live.leaving.get()
                        + " replica(s) that left still finishing their calls (at most " + LEAVE_GRACE.toMinutes()
                        + " minutes); scale it up once they have closed");
            }
        } catch (RuntimeException e) {
            live.scaling.set(false);
            throw e;
        }
        int before = d.spec().replicas();
        boolean recorded = false;
        try {
            if (replicas == before) {
                live.scaling.set(false);
                return d;
            }
            ModelVersion version = registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version())));
            if (replicas > before) {
                // Checked and held at once, so that a scale that cannot fit is refused with the numbers.
                try {
                    memory.check(scaleOwner(id), version, d.spec().withReplicas(replicas - before));
                } catch (FactoryException e) {
                    throw FactoryException.invalidParam("replicas", "scaling from " + before + " to " + replicas
                            + " replicas: " + e.getMessage());
                }
            }
            table.replicas(id, replicas);
            recorded = true;
            LOG.info("deployment {} of {}:{} scales from {} to {} replica(s)", id, d.model(), d.version(), before,
                    replicas);
            resize(live, version, target, true);
            Deployment after = live.snapshot();
            if (after.state() instanceof DeploymentState.Draining) {
                throw notFound(id); // deleted meanwhile
            }
            return after;
        } catch (RuntimeException e) {
            memory.release(scaleOwner(id));
            if (recorded && live.snapshot().spec().replicas() == before) {
                try {
                    table.replicasIf(id, before, replicas); // the change never began: the count it had stands
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            live.scaling.set(false);
            throw e;
        }
    }

    /**
     * Takes the deployment's one change at a time; a change that is ending (all its replicas serve) is waited for, up
     * to {@link #SCALE_WAIT}, one still loading replicas is not.
     */
    private static boolean claimScaling(LiveDeployment live) {
        long deadline = System.nanoTime() + SCALE_WAIT.toNanos();
        while (!live.scaling.compareAndSet(false, true)) {
            Deployment d = live.snapshot();
            boolean ending = d.state() instanceof DeploymentState.Ready ready
                    && ready.replicas().size() >= d.spec().replicas();
            if (!ending || System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Who holds the memory of replicas being added, until they are loaded. */
    private static String scaleOwner(String id) {
        return id + "+scale";
    }

    /**
     * Brings a ready deployment ({@code live.scaling} set by the caller, cleared here exactly once) to
     * {@code target}'s replica count: adds replicas in the background, or takes replicas out at once and closes them
     * when their calls have ended. With {@code record}, a scale-up that fails part way records the count that serves
     * (unless the count was changed again meanwhile, or the deployment is going).
     *
     * <p>Memory is held before a change is made visible and given back again when the change finds the deployment
     * deleted, so that a delete racing a scale never leaves a hold behind.
     */
    private void resize(LiveDeployment live, ModelVersion version, DeploymentSpec target, boolean record) {
        Deployment d = live.snapshot();
        if (!(d.state() instanceof DeploymentState.Ready ready)) {
            memory.release(scaleOwner(d.id()));
            live.scaling.set(false);
            return;
        }
        List<Engine> serving = ready.replicas();
        List<ReplicaPlacement> placed = live.placements();
        long perReplica = memory.estimate(version, target).total();
        if (target.replicas() < serving.size()) {
            List<Engine> left = List.copyOf(serving.subList(target.replicas(), serving.size()));
            holdServing(d.id(), perReplica * target.replicas());
            // What the replicas that left hold stays held, under owners of their own, until they have closed.
            for (Engine engine : left) {
                memory.hold(leavingOwner(d.id(), engine), perReplica);
                memory.loaded(leavingOwner(d.id(), engine));
            }
            if (!live.rescale(serving.subList(0, target.replicas()), target,
                    placed.subList(0, Math.min(placed.size(), target.replicas())))) {
                left.forEach(e -> memory.release(leavingOwner(d.id(), e)));
                release(live); // deleted meanwhile: it closed every engine
                live.scaling.set(false);
                return;
            }
            // Done as far as serving goes: the next change may come while the replicas that left finish their calls.
            live.leaving.addAndGet(left.size());
            leaving.addAll(left);
            live.scaling.set(false);
            for (Engine engine : left) {
                Thread.ofVirtual().name("replica-leaves-" + d.id()).start(() -> {
                    try {
                        closeWhenIdle(engine);
                    } finally {
                        leaving.remove(engine);
                        memory.release(leavingOwner(d.id(), engine));
                        live.leaving.decrementAndGet();
                    }
                });
            }
            LOG.info("deployment {} of {}:{} scaled down to {} replica(s); {} leave once their calls end", d.id(),
                    d.model(), d.version(), target.replicas(), left.size());
            return;
        }
        ReplicaPlacement cpu = placed.isEmpty() ? ReplicaPlacement.cpu(perReplica) : placed.getFirst();
        live.rescale(serving, target, placed); // the count asked for, from now on; the replicas join as they load
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable finish = () -> {
            if (done.compareAndSet(false, true)) {
                live.scaling.set(false);
            }
        };
        try {
            loading.execute(() -> {
                List<Engine> now = new ArrayList<>(serving);
                List<ReplicaPlacement> where = new ArrayList<>(placed);
                try {
                    registry.checkLoadable(version);
                    for (int i = serving.size(); i < target.replicas(); i++) {
                        Engine added = loader.load(new ReplicaOf(d.id(), i), version, target, cpu);
                        now.add(added);
                        where.add(cpu);
                        boolean last = i + 1 == target.replicas();
                        if (last) {
                            // All loaded: the deployment holds their memory itself, before the next change begins.
                            holdServing(d.id(), perReplica * target.replicas());
                        }
                        if (!live.rescale(List.copyOf(now), target, where)) {
                            closeQuietly(added); // deleted meanwhile: the delete closed the others
                            release(live);
                            return;
                        }
                        if (last) {
                            finish.run(); // as its last replica takes calls, the next change may come
                        }
                    }
                    LOG.info("deployment {} of {}:{} scaled up to {} replica(s)", d.id(), d.model(), d.version(),
                            target.replicas());
                } catch (Throwable t) {
                    int loaded = now.size();
                    holdServing(d.id(), perReplica * loaded);
                    if (!live.rescale(List.copyOf(now), target.withReplicas(loaded), where)) {
                        now.subList(serving.size(), loaded).forEach(Deployments::closeQuietly);
                        release(live); // deleted, or the factory stops: the count asked for stays recorded
                        return;
                    }
                    if (record) {
                        try {
                            table.replicasIf(d.id(), loaded, target.replicas());
                        } catch (RuntimeException e) {
                            t.addSuppressed(e);
                        }
                    }
                    LOG.warn("deployment {} of {}:{}: scaling to {} replicas stopped at {}: {}", d.id(), d.model(),
                            d.version(), target.replicas(), loaded, reason(t));
                } finally {
                    finish.run();
                }
            });
        } catch (RejectedExecutionException e) {
            live.rescale(serving, d.spec(), placed);
            finish.run();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the factory is stopping");
        }
    }

    /**
     * Deployment {@code id} holds {@code bytes} for the replicas that serve, loaded; what was held for replicas being
     * added goes (it is in those bytes now, or was never used).
     */
    private void holdServing(String id, long bytes) {
        memory.hold(id, bytes);
        memory.loaded(id);
        memory.release(scaleOwner(id));
    }

    /** Who holds the memory of a replica that left a deployment, until it has closed. */
    private static String leavingOwner(String id, Engine engine) {
        return id + "-leaving-" + System.identityHashCode(engine);
    }

    /**
     * Closes an engine that takes no new calls once the calls it has ended (looking only after {@link #LEAVE_FIRST},
     * for a call that chose it just before it left), or after {@link #LEAVE_GRACE}, whichever comes first.
     */
    private static void closeWhenIdle(Engine engine) {
        long end = System.nanoTime() + LEAVE_GRACE.toNanos();
        try {
            Thread.sleep(LEAVE_FIRST);
            while (engine instanceof TextEngine t && System.nanoTime() < end
                    && (t.load().active() > 0 || t.load().waiting() > 0 || TextReplicas.routed(t) > 0)) {
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(engine);
    }

    /** Hands a deployment's load to a task of its own; one that can't even start ends the deployment as failed. */
    private void startLoading(LiveDeployment live) {
        try {
            loading.execute(() -> load(live));
        } catch (RejectedExecutionException e) {
            end(live, List.of(), new FactoryException(ErrorCode.UNAVAILABLE, "the factory is stopping"));
        }
    }

    /**
     * Chooses where each replica runs and holds its GPUs, then (with {@code checkHost}) checks host memory for what
     * stays there, and holds that memory; refused with the numbers, holding nothing, when it does not fit.
     */
    private List<ReplicaPlacement> reserve(String id, String project, ModelVersion version, DeploymentSpec spec,
                                           boolean checkHost) {
        List<ReplicaPlacement> chosen;
        synchronized (quotaLock) { // what the project holds, counted and added to at once
            projectOfReservation.put(id, project);
            try {
                chosen = gpus.reserve(id, version, spec, () -> footprint(version, spec), memory.availableBytes(),
                        gpusLeft(id, project), project);
            } catch (RuntimeException e) {
                projectOfReservation.remove(id);
                throw e;
            }
        }
        try {
            if (chosen.stream().anyMatch(ReplicaPlacement::onGpu)) {
                long host = 0;
                for (ReplicaPlacement p : chosen) {
                    host += p.onGpu() ? p.hostBytes() : memory.estimate(version, spec).total();
                }
                // A replica with layers on GPUs loads from the decrypted model file in RAM, which it frees once loaded;
                // replicas load one after another, so one file's worth of memory is needed on top while loading.
                host += version.sizeBytes();
                if (checkHost) {
                    memory.checkHost(id, version, spec, host);
                } else {
                    memory.hold(id, host);
                }
            } else if (checkHost) {
                memory.check(id, version, spec);
            } else {
                memory.hold(id, memory.estimate(version, spec).total() * spec.replicas());
            }
        } catch (RuntimeException e) {
            gpus.release(id, spec.replicas());
            throw e;
        }
        return chosen;
    }

    /**
     * llama.cpp stores a quantized KV cache in blocks of 32 elements and refuses to create a context whose attention
     * heads are not whole blocks; refused here instead, before anything is held, with what to ask for.
     */
    private void checkCacheType(ModelVersion version, DeploymentSpec spec) {
        CacheType type = spec.plannedCacheType();
        if (type == CacheType.F16 || version.format() != ModelFormat.GGUF) {
            return;
        }
        GgufMetadata metadata = ggufMetadata(version);
        long key = CapacityEstimator.keyLength(metadata);
        long value = CapacityEstimator.valueLength(metadata);
        if (key % type.blockElements() != 0 || value % type.blockElements() != 0) {
            throw FactoryException.invalidParam("cacheType", ("'cacheType' %s stores attention heads in blocks of %d "
                    + "elements, but %s has heads of %d (keys) and %d (values) elements; use f16").formatted(type.id(),
                    type.blockElements(), version.ref(), key, value));
        }
    }

    private GgufMetadata ggufMetadata(ModelVersion version) {
        try {
            return registry.ggufMetadata(version);
        } catch (java.io.IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read " + version.ref() + ": " + e.getMessage());
        }
    }

    private Footprint footprint(ModelVersion version, DeploymentSpec spec) {
        return CapacityEstimator.footprint(ggufMetadata(version), CapacityEstimator.Request.of(
                spec.effectiveContext(version), spec.sequences(), spec.plannedCacheType()));
    }

    /** Where a deployment's replicas run (one entry per replica), or empty before it was placed and once it ended. */
    public List<ReplicaPlacement> placements(String id) {
        LiveDeployment live = deployments.get(id);
        return live == null ? List.of() : live.placements();
    }

    private static String describe(List<ReplicaPlacement> chosen) {
        if (chosen.stream().noneMatch(ReplicaPlacement::onGpu)) {
            return "on the CPU";
        }
        return String.join("; ", chosen.stream().map(p -> p.onGpu()
                ? (p.gpuLayers() == ReplicaPlacement.ALL_LAYERS ? "all" : String.valueOf(p.gpuLayers()))
                        + " layers on GPU " + p.gpus() : "CPU").toList());
    }

    /**
     * A deployment's load, on its own task: Pending → Loading → (one replica after another) → Ready. Whatever it
     * throws, {@link Error}s included, ends it through {@link #end}; a move the lifecycle refuses (the deployment was
     * deleted, or the factory is stopping) stops it, giving back what it holds.
     */
    private void load(LiveDeployment live) {
        List<Engine> opened = new ArrayList<>();
        try {
            Deployment d = live.snapshot();
            int replicas = d.spec().replicas();
            if (!move(live, new DeploymentState.Loading(0, replicas))) {
                return; // drained before it could load: the delete gave back what it held
            }
            ModelVersion version = registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version())));
            // Verified again at each load: the signers trusted, or the version's record, may have changed.
            registry.checkLoadable(version);
            List<ReplicaPlacement> where = live.placements();
            if (where.isEmpty()) {
                // Restored after a restart: place again; host memory was checked when it was first deployed.
                where = reserve(d.id(), d.project(), version, d.spec(), false);
                if (!live.place(where)) {
                    gpus.release(d.id(), replicas);
                    memory.release(d.id());
                    return;
                }
            }
            PausePoints.reach("deploy.loading", d.model().toString());
            if (loader.loadsTogether(version) && replicas > 1) {
                if (!loadTogether(live, d, version, where, opened)) {
                    return;
                }
            } else {
                for (int i = 0; i < replicas; i++) {
                    opened.add(loader.load(new ReplicaOf(d.id(), i), version, d.spec(), where.get(i)));
                    DeploymentState next = i + 1 < replicas ? new DeploymentState.Loading(i + 1, replicas)
                            : new DeploymentState.Ready(opened);
                    if (!move(live, next)) {
                        drained(live, opened);
                        return;
                    }
                }
            }
            memory.loaded(d.id());
            LOG.info("deployment {} of {}:{} is ready", d.id(), d.model(), d.version());
        } catch (Throwable t) {
            end(live, opened, t);
        }
    }

    /**
     * Loads every replica at once, each on a task of its own, into {@code opened} in replica order; the state counts
     * them as they become ready. The first that fails stops the others (their engines, once open, are closed by
     * {@link #end} with the rest) and is thrown. False when the deployment began draining meanwhile (what was opened
     * is given back).
     */
    private boolean loadTogether(LiveDeployment live, Deployment d, ModelVersion version, List<ReplicaPlacement> where,
                                 List<Engine> opened) throws Throwable {
        int replicas = d.spec().replicas();
        Engine[] engines = new Engine[replicas];
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        try (ExecutorService each = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("replica-loader-" + d.id() + "-", 0).factory())) {
            java.util.concurrent.ExecutorCompletionService<Integer> loads =
                    new java.util.concurrent.ExecutorCompletionService<>(each);
            List<java.util.concurrent.Future<Integer>> all = new ArrayList<>();
            for (int i = 0; i < replicas; i++) {
                int index = i;
                all.add(loads.submit(() -> {
                    engines[index] = loader.load(new ReplicaOf(d.id(), index), version, d.spec(), where.get(index));
                    return index;
                }));
            }
            try {
                for (int n = 0; n < replicas; n++) {
                    loads.take().get();
                    int ready = done.incrementAndGet();
                    if (ready < replicas && !move(live, new DeploymentState.Loading(ready, replicas))) {
                        all.forEach(f -> f.cancel(true));
                        break;
                    }
                }
            } catch (ExecutionException e) {
                all.forEach(f -> f.cancel(true));
                throw e.getCause();
            } finally {
                each.shutdownNow();
            }
        } finally {
            // After the executor closed (it waits for every task): an engine a cancelled load still opened is here too.
            for (Engine e : engines) {
                if (e != null) {
                    opened.add(e);
                }
            }
        }
        if (done.get() < replicas || !move(live, new DeploymentState.Ready(List.copyOf(opened)))) {
            drained(live, opened);
            return false;
        }
        return true;
    }

    /**
     * Ends a load that failed: closes the engines it opened, gives back its GPUs, marks the deployment failed with the
     * reason and logs it (with the stack trace when the cause is not a {@link FactoryException}, which says why a
     * model can't be served). Never throws, so that nothing it does hides the failure it reports.
     */
    private void end(LiveDeployment live, List<Engine> opened, Throwable cause) {
        Deployment d = live.snapshot();
        String reason = reason(cause);
        try {
            opened.forEach(Deployments::closeQuietly);
            release(live);
            boolean failed = move(live, new DeploymentState.Failed(reason));
            String what = failed ? "failed" : "stopped while it was " + live.state().id();
            if (cause instanceof FactoryException) {
                LOG.warn("deployment {} of {}:{} {}: {}", d.id(), d.model(),
                        d.version(), what, reason);
            } else {
                LOG.error("deployment {} of {}:{} {}: {}", d.id(), d.model(), d.version(), what, reason, cause);
            }
        } catch (Throwable t) {
            t.addSuppressed(cause);
            LOG.error("deployment {}: ending its failed load failed", d.id(), t);
        }
    }

    /** What the API says about a failed load: the message of a FactoryException, else the throwable itself. */
    private static String reason(Throwable t) {
        if (t instanceof FactoryException && t.getMessage() != null) {
            return t.getMessage();
        }
        String message = t.getMessage();
        return "unexpected " + t.getClass().getName() + (message == null ? "" : ": " + message);
    }

    /** Ends the load of a deployment that began draining while it loaded: what the load opened and held goes back. */
    private void drained(LiveDeployment live, List<Engine> opened) {
        opened.forEach(Deployments::closeQuietly);
        release(live);
        LOG.info("deployment {} stopped loading: it is draining", live.id());
    }

    /** Gives back the GPUs and host memory a deployment holds, if it still holds them. */
    private void release(LiveDeployment live) {
        if (!live.takePlacements().isEmpty()) {
            gpus.release(live.id(), live.snapshot().spec().replicas());
        }
        projectOfReservation.remove(live.id());
        memory.release(live.id());
        memory.release(scaleOwner(live.id()));
    }

    private static void closeQuietly(Engine engine) {
        try {
            engine.close();
        } catch (RuntimeException e) {
            LOG.warn("closing an engine failed", e);
        }
    }

    /**
     * Moves a deployment to {@code next} (see {@link LiveDeployment#transition}) and records the new state in the
     * table when its id changed; false when the lifecycle refused the move. The table's state is for operators (a
     * start loads every recorded deployment, whatever its state), so one that can't be written is logged, and
     * serving carries on.
     */
    private boolean move(LiveDeployment live, DeploymentState next) {
        return live.transition(next, (before, after) -> {
            if (before.id().equals(after.id()) || after instanceof DeploymentState.Draining) {
                return;
            }
            try {
                table.state(live.id(), after);
            } catch (RuntimeException e) {
                LOG.warn("deployment {}: recording state {} failed: {}", live.id(),
                        after.id(), e.getMessage());
            }
        }).isPresent();
    }

    /** Unloads and forgets a deployment; requests in flight on it end as cancelled. */
    public Deployment delete(String id) {
        LiveDeployment live;
        Deployment d;
        DeploymentState before;
        synchronized (membership) {
            live = deployments.get(id);
            if (live == null) {
                throw notFound(id);
            }
            d = live.snapshot();
            before = live.transition(new DeploymentState.Draining()).orElseThrow(() -> notFound(id));
            deployments.remove(id, live);
            table.delete(id);
        }
        unload(live, before);
        LOG.info("deployment {} of {}:{} deleted (it was {})", id, d.model(), d.version(),
                before.id());
        return d;
    }

    /** Gives back what a deployment that began draining held in {@code before}. */
    private void unload(LiveDeployment live, DeploymentState before) {
        switch (before) {
            case DeploymentState.Ready ready -> {
                ready.replicas().forEach(Deployments::closeQuietly);
                release(live);
            }
            // The load holds the engines it opened and the GPUs they use: it gives them back at its next step.
            case DeploymentState.Loading loading -> { }
            case DeploymentState.Pending p -> release(live);
            case DeploymentState.Failed f -> release(live);
            case DeploymentState.Draining x -> throw new IllegalStateException("the lifecycle never leaves Draining");
        }
    }

    /**
     * Brings this process's deployments in line with the table, which other control-plane replicas on the same
     * database change too: one recorded there and not here starts loading; one here that is no longer recorded (deleted
     * through another replica) is unloaded as by {@link #delete}; one that failed here while the table says another
     * replica has it ready is loaded again; one scaled through another replica is scaled here too. Returns each
     * recorded deployment's replica count, by id; null once closing began (nothing was read, and nothing should be
     * ended for its sake).
     */
    public @Nullable Map<String, Integer> sync() {
        List<LiveDeployment> started = new ArrayList<>();
        Map<LiveDeployment, DeploymentState> gone = new java.util.HashMap<>();
        Map<LiveDeployment, Deployment> rescaled = new java.util.HashMap<>();
        Map<String, Integer> ids = new java.util.HashMap<>();
        synchronized (membership) {
            if (closing) {
                return null;
            }
            List<Deployment> recorded = table.recorded();
            java.util.Set<String> readyElsewhere = table.readyIds();
            for (Deployment d : recorded) {
                ids.put(d.id(), d.spec().replicas());
                LiveDeployment here = deployments.get(d.id());
                if (here != null && here.state() instanceof DeploymentState.Ready
                        && here.snapshot().spec().replicas() != d.spec().replicas()
                        && here.scaling.compareAndSet(false, true)) {
                    rescaled.put(here, d);
                }
                if (here != null && here.state() instanceof DeploymentState.Failed && readyElsewhere.contains(d.id())) {
                    deployments.remove(d.id(), here);
                }
                if (!deployments.containsKey(d.id())) {
                    LiveDeployment live = new LiveDeployment(d, List.of());
                    deployments.put(d.id(), live);
                    started.add(live);
                }
            }
            for (LiveDeployment live : List.copyOf(deployments.values())) {
                if (!ids.containsKey(live.id())) {
                    live.transition(new DeploymentState.Draining()).ifPresent(before -> gone.put(live, before));
                    deployments.remove(live.id(), live);
                }
            }
        }
        try {
            started.forEach(live -> {
                LOG.info("deployment {} of {}:{} was made through another control-plane replica; loading it here",
                        live.id(), live.snapshot().model(), live.snapshot().version());
                startLoading(live);
            });
            gone.forEach((live, before) -> {
                unload(live, before);
                LOG.info("deployment {} was deleted through another control-plane replica; unloaded here", live.id());
            });
        } finally {
            rescaleFollowing(rescaled);
        }
        return ids;
    }

    /** Scales here the deployments that were scaled through another control-plane replica (their flags set). */
    private void rescaleFollowing(Map<LiveDeployment, Deployment> rescaled) {
        rescaled.forEach((live, d) -> {
            LOG.info("deployment {} was scaled to {} replica(s) through another control-plane replica; scaling here",
                    live.id(), d.spec().replicas());
            try {
                resize(live, registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version()))),
                        live.snapshot().spec().withReplicas(d.spec().replicas()), false);
            } catch (RuntimeException e) {
                live.scaling.set(false);
                LOG.warn("deployment {}: scaling it here failed: {}", live.id(), e.getMessage());
            }
        });
    }

    /** Runs {@link #sync} every {@code every} until closed, handing each time's recorded ids to {@code recorded}. */
    public void follow(Duration every, java.util.function.Consumer<Map<String, Integer>> recorded) {
        requireNonNull(every, "every is null");
        requireNonNull(recorded, "recorded is null");
        follower = Thread.ofVirtual().name("deployments-follow").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(every);
                    Map<String, Integer> ids = sync();
                    if (ids != null) {
                        recorded.accept(ids);
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.warn("reading the deployments other control-plane replicas made failed: {}", e.getMessage());
                }
            }
        });
    }

    public Deployment get(String id) {
        LiveDeployment live = deployments.get(id);
        if (live == null) {
            throw notFound(id);
        }
        return live.snapshot();
    }

    /** What {@link #get} answers for a deployment that does not exist. */
    public static FactoryException notFound(String id) {
        return new FactoryException(ErrorCode.NOT_FOUND, "no deployment '" + id + "'");
    }

    /**
     * What a call to a model that nothing serves answers ({@code model} as the call named it): the same whether the
     * model does not exist, is not deployed, or is another project's.
     */
    public static FactoryException notServed(String model) {
        return new FactoryException(ErrorCode.NOT_FOUND, "the model '" + model
                + "' does not exist or is not deployed; GET /v1/models lists the models you can use");
    }

    /**
     * Waits until a deployment is ready or failed (or the timeout passes) and returns it as it then is; one deleted
     * meanwhile is returned as draining.
     */
    public Deployment awaitSettled(String id, Duration timeout) throws InterruptedException {
        LiveDeployment live = deployments.get(id);
        if (live == null) {
            throw notFound(id);
        }
        try {
            return live.settled().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return live.snapshot();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Requests generating and waiting on a deployment's replicas now (zero for embedding models). */
    public EngineLoad activity(String id) {
        int active = 0;
        int waiting = 0;
        int slots = 0;
        int queue = 0;
        long generated = 0;
        LiveDeployment live = deployments.get(id);
        if (live != null && live.state() instanceof DeploymentState.Ready ready) {
            for (Engine e : ready.replicas()) {
                if (e instanceof TextEngine t) {
                    EngineLoad l = t.load();
                    active += l.active();
                    waiting += l.waiting();
                    slots += l.slots();
                    queue += l.queueCapacity();
                    generated += l.generatedTokens();
                }
            }
        }
        return new EngineLoad(active, waiting, slots, queue, generated);
    }

    public List<Deployment> list() {
        return deployments.values().stream().map(LiveDeployment::snapshot)
                .sorted(Comparator.comparing(Deployment::createdAt)).toList();
    }

    public List<Deployment> ready() {
        return list().stream().filter(d -> d.state() instanceof DeploymentState.Ready).toList();
    }

    public Optional<Deployment> find(ModelName model) {
        return list().stream().filter(d -> d.model().equals(model)).findFirst();
    }

    /** The engine serving an embedding model named {@code namespace/model[:version]}. */
    public EmbeddingEngine embeddingEngine(String model) {
        return switch (engine(model)) {
            case EmbeddingEngine e -> e;
            case TextEngine t -> throw FactoryException.invalidParam("model",
                    "the model '" + model + "' generates text; it has no embeddings");
        };
    }

    /**
     * Whether an embedding engine serves the model named {@code namespace/model[:version]} (else it generates text);
     * NOT_FOUND or UNAVAILABLE as for its engines.
     */
    public boolean embeds(String model) {
        return switch (engine(model)) {
            case EmbeddingEngine e -> true;
            case TextEngine t -> false;
        };
    }

    /**
     * The replicas of the deployment serving a text model named {@code namespace/model[:version]}, to tokenize a
     * prompt with any and then send it to the one {@link TextReplicas#forPrompt} picks. NOT_FOUND when nothing
     * serves the model, UNAVAILABLE while it is loading or after it failed, INVALID_REQUEST for an embedding model.
     */
    public TextReplicas textReplicas(String model) {
        List<TextEngine> text = new ArrayList<>();
        for (Engine replica : ReplicaRouter.replicas(model, deployments.values().stream().map(LiveDeployment::snapshot)
                .toList())) {
            switch (replica) {
                case TextEngine t -> text.add(t);
                case EmbeddingEngine e -> throw FactoryException.invalidParam("model",
                        "the model '" + model + "' is an embedding model; use /v1/embeddings");
            }
        }
        return new TextReplicas(text);
    }

    /** NOT_FOUND when nothing serves the model, UNAVAILABLE while it is loading or after it failed. */
    private Engine engine(String model) {
        return ReplicaRouter.route(model, deployments.values().stream().map(LiveDeployment::snapshot).toList());
    }

    /**
     * Stops loading and unloads every engine; recorded deployments stay for the next start. Every deployment drains
     * first, so that a load cut short gives back what it holds without recording the deployment as failed.
     */
    @Override
    public void close() {
        synchronized (membership) {
            closing = true;
        }
        Thread following = follower;
        if (following != null) {
            following.interrupt();
            try {
                following.join(java.time.Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Map<LiveDeployment, DeploymentState> left = new java.util.HashMap<>();
        for (LiveDeployment live : deployments.values()) {
            live.transition(new DeploymentState.Draining()).ifPresent(before -> left.put(live, before));
        }
        loading.shutdownNow();
        try {
            loading.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List.copyOf(leaving).forEach(Deployments::closeQuietly); // replicas that left, still finishing their calls
        left.forEach((live, before) -> {
            switch (before) {
                case DeploymentState.Ready ready -> {
                    ready.replicas().forEach(Deployments::closeQuietly);
                    release(live);
                }
                case DeploymentState.Loading loading -> { } // its load, stopped above, gave back what it held
                case DeploymentState.Pending p -> release(live);
                case DeploymentState.Failed f -> release(live);
                case DeploymentState.Draining d -> { }
            }
        });
        deployments.clear();
    }
}
