package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Priority;
import ai.factory.storage.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Update;
import org.jspecify.annotations.Nullable;

/** The quotas and what budgets spent, in the database (tables {@code quotas} and {@code quota_spend}). */
final class QuotaStore {
    private static final String COLUMNS = "project, key_id, model, rpm, tpm, concurrency, tokens_per_day, "
            + "tokens_per_month, priority, accelerators, updated_at, updated_by";

    private final Jdbi jdbi;

    QuotaStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    List<Quota> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM quotas ORDER BY project, key_id, model")
                .map((rs, ctx) -> quota(rs)).list());
    }

    Optional<Quota> find(QuotaScope scope) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM quotas WHERE project = :p "
                        + "AND key_id = :k AND model = :m")
                .bind("p", scope.project()).bind("k", scope.key()).bind("m", scope.model())
                .map((rs, ctx) -> quota(rs)).findOne());
    }

    /** Sets a scope's limits, replacing what it had. */
    void put(Quota quota) {
        jdbi.useTransaction(h -> {
            if (bindLimits(h.createUpdate("UPDATE quotas SET rpm = :rpm, tpm = :tpm, concurrency = :c, "
                    + "tokens_per_day = :day, tokens_per_month = :month, priority = :prio, accelerators = :acc, updated_at = :at, "
                    + "updated_by = :by WHERE project = :p AND key_id = :k AND model = :m"), quota).execute() == 0) {
                bindLimits(h.createUpdate("INSERT INTO quotas (" + COLUMNS + ") VALUES (:p, :k, :m, :rpm, :tpm, :c, "
                        + ":day, :month, :prio, :acc, :at, :by)"), quota).execute();
            }
        });
    }

    private static Update bindLimits(Update u, Quota q) {
        Limits l = q.limits();
        return u.bind("p", q.scope().project()).bind("k", q.scope().key()).bind("m", q.scope().model())
                .bind("rpm", l.rpm()).bind("tpm", l.tpm()).bind("c", l.concurrency())
                .bind("day", l.tokensPerDay()).bind("month", l.tokensPerMonth())
                .bind("prio", l.priority() == null ? null : l.priority().id()).bind("acc", l.accelerators())
                .bind("at", Timestamp.from(q.updatedAt())).bind("by", q.updatedBy());
    }

    /** Removes a scope's quota; false when it had none. */
    boolean delete(QuotaScope scope) {
        return jdbi.withHandle(h -> h.createUpdate("DELETE FROM quotas WHERE project = :p AND key_id = :k AND model = :m")
                .bind("p", scope.project()).bind("k", scope.key()).bind("m", scope.model()).execute()) > 0;
    }

    /** Removes every quota and spend record of a project (it was deleted). */
    void deleteProject(String project) {
        jdbi.useTransaction(h -> {
            h.createUpdate("DELETE FROM quotas WHERE project = :p").bind("p", project).execute();
            h.createUpdate("DELETE FROM quota_spend WHERE project = :p").bind("p", project).execute();
        });
    }

    private static Quota quota(ResultSet rs) throws SQLException {
        String priority = rs.getString("priority");
        Limits limits = new Limits(longOrNull(rs, "rpm"), longOrNull(rs, "tpm"),
                rs.getObject("concurrency") == null ? null : rs.getInt("concurrency"),
                longOrNull(rs, "tokens_per_day"), longOrNull(rs, "tokens_per_month"),
                priority == null ? null : Priority.parse(priority, "priority"),
                rs.getObject("accelerators") == null ? null : rs.getInt("accelerators"));
        return new Quota(new QuotaScope(rs.getString("project"), rs.getString("key_id"), rs.getString("model")), limits,
                rs.getTimestamp("updated_at").toInstant(), rs.getString("updated_by"));
    }

    private static @Nullable Long longOrNull(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    /**
     * Adds {@code delta} tokens to what {@code scope} spent in the period and returns the sum every replica added.
     * The period's first record starts from what the audit trail already holds for it (calls before the budget was
     * set, or before an upgrade), so a budget set mid-month counts the month from its start.
     */
    long addSpend(QuotaScope scope, String period, Instant start, Instant end, long delta) {
        for (int attempt = 0; ; attempt++) {
            try {
                return jdbi.inTransaction(h -> {
                    Optional<Long> now = spend(h, scope, period, start);
                    if (now.isPresent()) {
                        if (delta != 0) {
                            h.createUpdate("UPDATE quota_spend SET tokens = tokens + :d WHERE project = :p AND "
                                            + "key_id = :k AND model = :m AND period = :period AND starts_at = :s")
                                    .bind("d", delta).bind("p", scope.project()).bind("k", scope.key())
                                    .bind("m", scope.model()).bind("period", period).bind("s", Timestamp.from(start))
                                    .execute();
                        }
                        return spend(h, scope, period, start).orElseThrow();
                    }
                    long total = audited(h, scope, start, end) + delta;
                    h.createUpdate("INSERT INTO quota_spend (project, key_id, model, period, starts_at, tokens) "
                                    + "VALUES (:p, :k, :m, :period, :s, :t)")
                            .bind("p", scope.project()).bind("k", scope.key()).bind("m", scope.model())
                            .bind("period", period).bind("s", Timestamp.from(start)).bind("t", total).execute();
                    return total;
                });
            } catch (RuntimeException e) {
                // Another replica made the period's record first: add to that one.
                if (attempt >= 2 || !Sql.isUniqueViolation(e)) {
                    throw e;
                }
            }
        }
    }

    private static Optional<Long> spend(Handle h, QuotaScope scope, String period, Instant start) {
        return h.createQuery("SELECT tokens FROM quota_spend WHERE project = :p AND key_id = :k AND model = :m "
                        + "AND period = :period AND starts_at = :s")
                .bind("p", scope.project()).bind("k", scope.key()).bind("m", scope.model()).bind("period", period)
                .bind("s", Timestamp.from(start)).mapTo(Long.class).findOne();
    }

    /** The tokens of the scope's inference calls the audit trail recorded in {@code [start, end)}. */
    private static long audited(Handle h, QuotaScope scope, Instant start, Instant end) {
        StringBuilder sql = new StringBuilder("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) "
                + "FROM audit_records WHERE action = 'invoke' AND decision = 'allow' AND project = :p "
                + "AND at >= :s AND at < :e");
        if (scope.isKey()) {
            sql.append(" AND principal_id = :k");
        }
        if (scope.isModel()) {
            // The call named the model, perhaps with a version (model=acme/tiny:3).
            sql.append(" AND (resource = :r OR resource LIKE :rv ESCAPE '!')");
        }
        var q = h.createQuery(sql.toString()).bind("p", scope.project()).bind("s", Timestamp.from(start))
                .bind("e", Timestamp.from(end));
        if (scope.isKey()) {
            q.bind("k", scope.key());
        }
        if (scope.isModel()) {
            q.bind("r", "model=" + scope.model()).bind("rv", "model=" + scope.model().replace("!", "!!")
                    .replace("%", "!%").replace("_", "!_") + ":%");
        }
        return q.mapTo(Long.class).one();
    }

    /** Forgets what a scope's budgets spent in every period (they count afresh from the audit trail). */
    void forgetSpend(QuotaScope scope) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM quota_spend WHERE project = :p AND key_id = :k AND model = :m")
                .bind("p", scope.project()).bind("k", scope.key()).bind("m", scope.model()).execute());
    }

    /** Forgets the days' spend records that began before {@code before}. */
    void forgetSpendBefore(Instant before) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM quota_spend WHERE starts_at < :b AND period = 'day'")
                .bind("b", Timestamp.from(before)).execute());
    }
}
