package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;

/**
 * The deployments of this node: which model versions are in service and the engines serving them.
 * Deployments are recorded in the database so they come back after a restart; engines live in memory.
 */
public final class Deployments implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Deployments.class.getName());

    private final Jdbi jdbi;
    private final ModelRegistry registry;
    private final EngineLoader loader;
    private final Clock clock;
    private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
    private final Map<String, EmbeddingEngine> engines = new ConcurrentHashMap<>();

    public Deployments(Jdbi jdbi, ModelRegistry registry, EngineLoader loader, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.loader = requireNonNull(loader, "loader is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Loads every recorded deployment; a deployment that can't load is marked failed, the others carry on. */
    public void restore() {
        List<Deployment> recorded = jdbi.withHandle(h -> h.createQuery(
                        "SELECT id, model_name, version, state, reason, replicas, created_at, created_by FROM deployments")
                .map((rs, ctx) -> row(rs)).list());
        recorded.forEach(d -> {
            deployments.put(d.id(), d.withState(DeploymentState.PENDING, null));
            start(d.id());
        });
    }

    /** Deploys a model version and loads it. */
    public Deployment deploy(ModelRef ref, Principal by) {
        by.requireAdmin("deploying a model");
        ModelVersion version = registry.resolve(ref);
        Instant now = clock.instant();
        Deployment d = new Deployment("dep-" + UUID.randomUUID(), version.model(), version.version(),
                DeploymentState.PENDING, null, 1, now, by.id());
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO deployments (id, model_name, version, state, reason, replicas, "
                        + "created_at, created_by) VALUES (:id, :m, :v, :s, NULL, :r, :at, :by)")
                .bind("id", d.id()).bind("m", d.model().toString()).bind("v", d.version())
                .bind("s", d.state().id()).bind("r", d.replicas()).bind("at", Timestamp.from(now)).bind("by", by.id())
                .execute());
        deployments.put(d.id(), d);
        return start(d.id());
    }

    private Deployment start(String id) {
        Deployment d = transition(id, DeploymentState.LOADING, null);
        try {
            ModelVersion version = registry.resolve(new ModelRef(d.model(), java.util.OptionalInt.of(d.version())));
            engines.put(id, loader.load(version));
            d = transition(id, DeploymentState.READY, null);
            LOG.log(System.Logger.Level.INFO, "deployment {0} of {1}:{2} is ready", id, d.model(), d.version());
        } catch (FactoryException e) {
            d = transition(id, DeploymentState.FAILED, e.getMessage());
            LOG.log(System.Logger.Level.WARNING, "deployment {0} of {1}:{2} failed: {3}", id, d.model(), d.version(),
                    e.getMessage());
        }
        return d;
    }

    private Deployment transition(String id, DeploymentState state, String reason) {
        Deployment d = deployments.computeIfPresent(id, (k, old) -> old.withState(state, reason));
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployments SET state = :s, reason = :r WHERE id = :id")
                .bind("s", state.id()).bind("r", reason).bind("id", id).execute());
        return d;
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

    /**
     * The engine serving a model, named as {@code namespace/model} or {@code namespace/model:version}.
     * NOT_FOUND when nothing serves it, UNAVAILABLE while it is loading or after it failed.
     */
    public EmbeddingEngine embeddingEngine(String model) {
        ModelRef ref = ModelRef.parse(model);
        List<Deployment> candidates = list().stream()
                .filter(d -> d.model().equals(ref.name()))
                .filter(d -> ref.version().isEmpty() || ref.version().getAsInt() == d.version())
                .sorted(Comparator.comparingInt(Deployment::version).reversed())
                .toList();
        if (candidates.isEmpty()) {
            throw new FactoryException(ErrorCode.NOT_FOUND, "the model '" + model
                    + "' does not exist or is not deployed; GET /v1/models lists the models you can use");
        }
        for (Deployment d : candidates) {
            EmbeddingEngine engine = engines.get(d.id());
            if (d.state() == DeploymentState.READY && engine != null) {
                return engine;
            }
        }
        Deployment d = candidates.getFirst();
        throw new FactoryException(ErrorCode.UNAVAILABLE, "the model '" + model + "' is not ready (deployment "
                + d.id() + " is " + d.state().id() + (d.reason() == null ? "" : ": " + d.reason()) + ")");
    }

    @Override
    public void close() {
        engines.values().forEach(EmbeddingEngine::close);
        engines.clear();
    }

    private static Deployment row(ResultSet rs) throws SQLException {
        return new Deployment(rs.getString("id"), ModelName.parse(rs.getString("model_name")), rs.getInt("version"),
                DeploymentState.valueOf(rs.getString("state").toUpperCase(java.util.Locale.ROOT)),
                rs.getString("reason"), rs.getInt("replicas"), rs.getTimestamp("created_at").toInstant(),
                rs.getString("created_by"));
    }
}
