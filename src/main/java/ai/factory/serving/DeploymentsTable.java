package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.llama.KvCacheType;
import ai.factory.models.ModelName;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * The {@code deployments} table: every deployment of the node, so that a start loads them all again. The state and
 * reason it records are what operators read in the table; a start begins every recorded deployment as pending,
 * whatever its recorded state.
 */
final class DeploymentsTable {
    /** The width of the {@code reason} column. */
    private static final int REASON_CHARS = 2000;

    private final Jdbi jdbi;

    DeploymentsTable(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** Every recorded deployment, as pending. */
    List<Deployment> recorded() {
        return jdbi.withHandle(h -> h.createQuery("SELECT id, project, model_name, version, replicas, parallel, "
                        + "context_length, threads, queue_capacity, gpu_layers, step_tokens, cache_type, "
                        + "prefix_cache, priority, created_at, created_by FROM deployments")
                .map((rs, ctx) -> row(rs)).list());
    }

    /** The ids of the deployments recorded as ready (by whichever process loaded them last). */
    java.util.Set<String> readyIds() {
        return new java.util.HashSet<>(jdbi.withHandle(h -> h.createQuery("SELECT id FROM deployments WHERE state = :s")
                .bind("s", "ready").mapTo(String.class).list()));
    }

    void insert(Deployment d) {
        jdbi.useHandle(h -> h.createUpdate("INSERT INTO deployments (id, project, model_name, version, state, reason, "
                        + "replicas, parallel, context_length, threads, queue_capacity, gpu_layers, step_tokens, "
                        + "cache_type, prefix_cache, priority, created_at, created_by) "
                        + "VALUES (:id, :project, :m, :v, :s, NULL, :r, :p, :c, :t, :q, :g, :st, :ct, :pc, :pr, :at, :by)")
                .bind("id", d.id()).bind("project", d.project()).bind("m", d.model().toString()).bind("v", d.version())
                .bind("s", d.state().id()).bind("r", d.spec().replicas()).bind("p", d.spec().parallel())
                .bind("c", d.spec().contextLength()).bind("t", d.spec().threads()).bind("q", d.spec().queue())
                .bind("g", d.spec().gpuLayers()).bind("st", d.spec().stepTokens())
                .bind("ct", d.spec().cacheType().id()).bind("pc", d.spec().prefixCache())
                .bind("pr", d.spec().priority())
                .bind("at", Timestamp.from(d.createdAt())).bind("by", d.createdBy())
                .execute());
    }

    void state(String id, DeploymentState state) {
        String reason = state instanceof DeploymentState.Failed f ? truncate(f.reason()) : null;
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployments SET state = :s, reason = :r WHERE id = :id")
                .bind("s", state.id()).bind("r", reason).bind("id", id).execute());
    }

    /** Records a new replica count (the deployment was scaled). */
    void replicas(String id, int replicas) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployments SET replicas = :r WHERE id = :id")
                .bind("r", replicas).bind("id", id).execute());
    }

    /** Records {@code replicas} as the count, unless it was changed from {@code expected} meanwhile. */
    void replicasIf(String id, int replicas, int expected) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployments SET replicas = :r WHERE id = :id AND replicas = :e")
                .bind("r", replicas).bind("id", id).bind("e", expected).execute());
    }

    void delete(String id) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM deployments WHERE id = :id").bind("id", id).execute());
    }

    private static String truncate(String reason) {
        return reason.length() <= REASON_CHARS ? reason : reason.substring(0, REASON_CHARS - 1) + "…";
    }

    private static Deployment row(ResultSet rs) throws SQLException {
        DeploymentSpec spec = new DeploymentSpec(rs.getInt("replicas"), rs.getInt("parallel"),
                rs.getInt("context_length"), rs.getInt("threads"),
                // A queue of 0 was once accepted (and never loaded); it is read as the least there is.
                Math.max(1, rs.getInt("queue_capacity")), rs.getInt("gpu_layers"), rs.getInt("step_tokens"),
                KvCacheType.parse(rs.getString("cache_type")), rs.getInt("prefix_cache"), rs.getInt("priority"));
        Instant created = rs.getTimestamp("created_at").toInstant();
        return new Deployment(rs.getString("id"), rs.getString("project"), ModelName.parse(rs.getString("model_name")),
                rs.getInt("version"), spec, new DeploymentState.Pending(), created, rs.getString("created_by"));
    }
}
