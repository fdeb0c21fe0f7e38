package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.PausePoints;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.EngineLoad;
import ai.factory.engine.Engine;
import ai.factory.engine.TextEngine;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.ModelName;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.identity.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deployments of this node: which model versions are in service and the engine replicas serving them.
 * Deployments are recorded in the database so they come back after a restart; engines live in memory and
 * load in the background (Pending → Loading → Ready, or Failed with the reason).
 */
public final class Deployments implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Deployments.class);

    private final Table table;
    private final ModelRegistry registry;
    private final EngineLoader loader;
    private final MemoryPlanner memory;
    private final GpuPlacements gpus;
    private final Clock clock;
    /** Where each deployment's replicas run, by deployment id, from reservation until delete or failure. */
    private final Map<String, List<ReplicaPlacement>> placements = new ConcurrentHashMap<>();
    private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
    private final Map<String, List<Engine>> engines = new ConcurrentHashMap<>();
    /** Completes when a deployment becomes ready or fails. */
    private final Map<String, CompletableFuture<Deployment>> settled = new ConcurrentHashMap<>();
    private final ExecutorService loading = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("deployment-loader-", 0).factory());

    public Deployments(Jdbi jdbi, ModelRegistry registry, EngineLoader loader, MemoryPlanner memory,
                       GpuPlacements gpus, Clock clock) {
        this.table = new Table(requireNonNull(jdbi, "jdbi is null"));
        this.registry = requireNonNull(registry, "registry is null");
        this.loader = requireNonNull(loader, "loader is null");
        this.memory = requireNonNull(memory, "memory is null");
        this.gpus = requireNonNull(gpus, "gpus is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Starts loading every recorded deployment; one that can't load is marked failed, the others carry on. */
    public void restore() {
        table.recorded().forEach(d -> {
            deployments.put(d.id(), d.withState(DeploymentState.PENDING, null));
            loading.submit(() -> start(d.id()));
        });
    }

    /** Deploys a model version; it loads in the background. Refused at once when it can't fit in memory. */
    public Deployment deploy(ModelRef ref, DeploymentSpec spec, Principal by) {
        ModelVersion version = registry.resolve(ref);
        String id = "dep-" + UUID.randomUUID();
        String project = registry.get(version.model()).project();
        reserve(id, version, spec, true);
        Deployment d = new Deployment(id, project, version.model(), version.version(), spec,
                DeploymentState.PENDING, null, clock.instant(), by.id());
        try {
            table.insert(d);
        } catch (RuntimeException e) {
            release(id, spec);
            throw e;
        }
        deployments.put(d.id(), d);
        LOG.info("deployment {} of {}:{} created ({} replica(s), parallel {}, {})", d.id(), d.model(), d.version(),
                spec.replicas(), spec.parallel(), describe(placements.get(id)));
        loading.submit(() -> start(d.id()));
        return d;
    }

    /**
     * Chooses where each replica runs and holds its GPUs, then (with {@code checkHost}) checks host memory for what
     * stays there; refused with the numbers, holding nothing, when it does not fit.
     */
    private List<ReplicaPlacement> reserve(String id, ModelVersion version, DeploymentSpec spec, boolean checkHost) {
        List<ReplicaPlacement> chosen = gpus.reserve(id, version, spec, () -> footprint(version, spec),
                memory.availableBytes());
        try {
            if (checkHost && chosen.stream().anyMatch(ReplicaPlacement::onGpu)) {
                long host = 0;
                for (ReplicaPlacement p : chosen) {
                    host += p.onGpu() ? p.hostBytes() : memory.estimate(version, spec).total();
                }
                // A replica with layers on GPUs loads from the decrypted model file in RAM, which it frees once loaded;
                // replicas load one after another, so one file's worth of memory is needed on top while loading.
                host += version.sizeBytes();
                memory.checkHost(version, spec, host);
            } else if (checkHost) {
                memory.check(version, spec);
            }
        } catch (RuntimeException e) {
            gpus.release(id, spec.replicas());
            throw e;
        }
        placements.put(id, chosen);
        return chosen;
    }

    private void release(String id, DeploymentSpec spec) {
        if (placements.remove(id) != null) {
            gpus.release(id, spec.replicas());
        }
    }

    private Footprint footprint(ModelVersion version, DeploymentSpec spec) {
        try {
            GgufMetadata metadata = registry.ggufMetadata(version);
            return CapacityEstimator.footprint(metadata, CapacityEstimator.Request.of(spec.effectiveContext(version),
                    spec.parallel(), CacheType.F16));
        } catch (java.io.IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read " + version.ref() + ": " + e.getMessage());
        }
    }

    /** Where a deployment's replicas run (one entry per replica), or empty before it was placed. */
    public List<ReplicaPlacement> placements(String id) {
        return placements.getOrDefault(id, List.of());
    }

    private static String describe(List<ReplicaPlacement> chosen) {
        if (chosen == null || chosen.stream().noneMatch(ReplicaPlacement::onGpu)) {
            return "on the CPU";
        }
        return String.join("; ", chosen.stream().map(p -> p.onGpu()
                ? (p.gpuLayers() == ReplicaPlacement.ALL_LAYERS ? "all" : String.valueOf(p.gpuLayers()))
                        + " layers on GPU " + p.gpus() : "CPU").toList());
    }

    private void start(String id) {
        Deployment d = transition(id, DeploymentState.LOADING, null);
        if (d == null) {
            return; // deleted before it could load
        }
        List<Engine> replicas = new ArrayList<>();
        try {
            ModelVersion version = registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version())));
            List<ReplicaPlacement> where = placements.get(id);
            if (where == null) {
                // Restored after a restart: place again; host memory was checked when it was first deployed.
                where = reserve(id, version, d.spec(), false);
            }
            PausePoints.reach("deploy.loading", d.model().toString());
            for (int i = 0; i < d.spec().replicas(); i++) {
                replicas.add(loader.load(version, d.spec(), where.get(i)));
            }
            if (engines.putIfAbsent(id, List.copyOf(replicas)) != null || !deployments.containsKey(id)) {
                replicas.forEach(Engine::close);
                if (!deployments.containsKey(id)) {
                    release(id, d.spec()); // deleted while loading
                }
                return;
            }
            transition(id, DeploymentState.READY, null);
            LOG.info("deployment {} of {}:{} is ready", id, d.model(), d.version());
        } catch (RuntimeException e) {
            // Whatever stops a load ends it as failed, with the reason: never a deployment left loading.
            replicas.forEach(Engine::close);
            release(id, d.spec());
            transition(id, DeploymentState.FAILED, e.getMessage());
            LOG.warn("deployment {} of {}:{} failed: {}", id, d.model(), d.version(), e.getMessage());
        }
    }

    private Deployment transition(String id, DeploymentState state, @Nullable String reason) {
        Deployment d = deployments.computeIfPresent(id, (k, old) -> old.withState(state, reason));
        if (d != null) {
            table.state(id, state, reason);
            if (state == DeploymentState.READY || state == DeploymentState.FAILED) {
                settled.computeIfAbsent(id, k -> new CompletableFuture<>()).complete(d);
            }
        }
        return d;
    }

    /** Unloads and forgets a deployment; requests in flight on it end as cancelled. */
    public Deployment delete(String id) {
        Deployment d = get(id);
        deployments.remove(id);
        settled.remove(id);
        table.delete(id);
        Optional.ofNullable(engines.remove(id)).ifPresent(list -> list.forEach(Engine::close));
        release(id, d.spec());
        LOG.info("deployment {} of {}:{} deleted", id, d.model(), d.version());
        return d;
    }

    public Deployment get(String id) {
        Deployment d = deployments.get(id);
        if (d == null) {
            throw notFound(id);
        }
        return d;
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

    /** Waits until a deployment is ready or failed (or the timeout passes) and returns it as it then is. */
    public Deployment awaitSettled(String id, Duration timeout) throws InterruptedException {
        get(id);
        try {
            return settled.computeIfAbsent(id, k -> new CompletableFuture<>())
                    .get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return get(id);
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
        for (Engine e : engines.getOrDefault(id, List.of())) {
            if (e instanceof TextEngine t) {
                EngineLoad l = t.load();
                active += l.active();
                waiting += l.waiting();
                slots += l.slots();
                queue += l.queueCapacity();
            }
        }
        return new EngineLoad(active, waiting, slots, queue);
    }

    public List<Deployment> list() {
        return deployments.values().stream().sorted(Comparator.comparing(Deployment::createdAt)).toList();
    }

    public List<Deployment> ready() {
        return list().stream().filter(d -> d.state() == DeploymentState.READY).toList();
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

    /** The least busy replica serving a text model named {@code namespace/model[:version]}. */
    public TextEngine textEngine(String model) {
        return switch (engine(model)) {
            case TextEngine t -> t;
            case EmbeddingEngine e -> throw FactoryException.invalidParam("model",
                    "the model '" + model + "' is an embedding model; use /v1/embeddings");
        };
    }

    /**
     * NOT_FOUND when nothing serves the model, UNAVAILABLE while it is loading or after it failed. Among ready
     * replicas the one with the fewest active and waiting requests wins.
     */
    private Engine engine(String model) {
        ModelRef ref = ModelRef.parse(model);
        List<Deployment> candidates = list().stream()
                .filter(d -> d.model().equals(ref.name()))
                .filter(d -> ref.version().isEmpty() || ref.version().getAsInt() == d.version())
                .sorted(Comparator.comparingInt(Deployment::version).reversed())
                .toList();
        if (candidates.isEmpty()) {
            throw notServed(model);
        }
        for (Deployment d : candidates) {
            List<Engine> replicas = engines.get(d.id());
            if (d.state() == DeploymentState.READY && replicas != null && !replicas.isEmpty()) {
                return replicas.stream().min(Comparator.comparingInt(Deployments::busy)).orElseThrow();
            }
        }
        Deployment d = candidates.getFirst();
        throw new FactoryException(ErrorCode.UNAVAILABLE, "the model '" + model + "' is not ready (deployment "
                + d.id() + " is " + d.state().id() + (d.reason() == null ? "" : ": " + d.reason()) + ")");
    }

    private static int busy(Engine e) {
        return switch (e) {
            case TextEngine t -> t.load().active() + t.load().waiting();
            case EmbeddingEngine x -> 0;
        };
    }

    /** Stops loading and unloads every engine; recorded deployments stay for the next start. */
    @Override
    public void close() {
        loading.shutdownNow();
        try {
            loading.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        engines.values().forEach(list -> list.forEach(Engine::close));
        engines.clear();
    }

    /** The deployments table. */
    private record Table(Jdbi jdbi) {
        List<Deployment> recorded() {
            return jdbi.withHandle(h -> h.createQuery("SELECT id, project, model_name, version, state, reason, replicas, "
                    + "parallel, context_length, threads, queue_capacity, gpu_layers, created_at, created_by FROM deployments")
                    .map((rs, ctx) -> row(rs)).list());
        }

        void insert(Deployment d) {
            jdbi.useHandle(h -> h.createUpdate("INSERT INTO deployments (id, project, model_name, version, state, reason, "
                            + "replicas, parallel, context_length, threads, queue_capacity, gpu_layers, created_at, created_by) "
                            + "VALUES (:id, :project, :m, :v, :s, NULL, :r, :p, :c, :t, :q, :g, :at, :by)")
                    .bind("id", d.id()).bind("project", d.project()).bind("m", d.model().toString()).bind("v", d.version())
                    .bind("s", d.state().id()).bind("r", d.spec().replicas()).bind("p", d.spec().parallel())
                    .bind("c", d.spec().contextLength()).bind("t", d.spec().threads()).bind("q", d.spec().queue())
                    .bind("g", d.spec().gpuLayers())
                    .bind("at", Timestamp.from(d.createdAt())).bind("by", d.createdBy())
                    .execute());
        }

        void state(String id, DeploymentState state, String reason) {
            jdbi.useHandle(h -> h.createUpdate("UPDATE deployments SET state = :s, reason = :r WHERE id = :id")
                    .bind("s", state.id()).bind("r", reason).bind("id", id).execute());
        }

        void delete(String id) {
            jdbi.useHandle(h -> h.createUpdate("DELETE FROM deployments WHERE id = :id").bind("id", id).execute());
        }

        private static Deployment row(ResultSet rs) throws SQLException {
            DeploymentSpec spec = new DeploymentSpec(rs.getInt("replicas"), rs.getInt("parallel"),
                    rs.getInt("context_length"), rs.getInt("threads"),
                    // A queue of 0 was once accepted (and never loaded); it is read as the least there is.
                    Math.max(1, rs.getInt("queue_capacity")), rs.getInt("gpu_layers"));
            Instant created = rs.getTimestamp("created_at").toInstant();
            return new Deployment(rs.getString("id"), rs.getString("project"), ModelName.parse(rs.getString("model_name")), rs.getInt("version"),
                    spec, DeploymentState.valueOf(rs.getString("state").toUpperCase(Locale.ROOT)),
                    rs.getString("reason"), created, rs.getString("created_by"));
        }
    }
}
