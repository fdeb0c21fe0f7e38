package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditRecord;
import ai.factory.security.audit.AuditStore;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage per hour and per day (in the site's time zone), kept in the database: inference calls rolled up from the
 * audit trail (requests, failures, prompt and output tokens by project, key, model and priority class) and the time
 * each project's replicas ran (replica-seconds, accelerator-seconds). The audit trail is read in order from where the
 * last roll-up stopped, and the roll-up and its new position are written in one transaction, so each record counts
 * once, whichever control-plane replica rolls, across restarts; what the rollups say is what the audit trail says.
 */
public final class UsageRollups implements AutoCloseable {
    /** How often the audit trail is rolled up, and replicas' time counted, by the replica that leads. */
    public static final Duration EVERY = Duration.ofSeconds(30);
    private static final int BATCH = 5000;
    private static final String PROGRESS = "audit";
    private static final Logger LOG = LoggerFactory.getLogger(UsageRollups.class);

    /** The dimensions usage can be broken down by, as the API names them, and their columns. */
    public static final Map<String, String> DIMENSIONS = Map.of("project", "project", "key", "principal_id",
            "model", "model", "priority", "priority");

    private final Jdbi jdbi;
    private final AuditStore audit;
    private final ZoneId zone;
    private final Clock clock;
    private @Nullable ScheduledExecutorService scheduler;

    public UsageRollups(Jdbi jdbi, AuditStore audit, ZoneId zone, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.zone = requireNonNull(zone, "zone is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public ZoneId zone() {
        return zone;
    }

    /**
     * Rolls up the audit trail every {@link #EVERY}, and counts replicas' time: {@code replicas} says what runs now
     * (called once per round; the time since the last round is charged to it).
     */
    public synchronized void start(java.util.function.Supplier<List<ReplicaUse>> replicas) {
        if (scheduler != null) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("usage-rollups")
                .factory());
        Instant[] last = {clock.instant()};
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                roll();
                Instant now = clock.instant();
                recordReplicas(replicas.get(), last[0], now);
                last[0] = now;
            } catch (RuntimeException e) {
                LOG.warn("usage: could not roll up the audit trail or count replicas' time; retrying in {}", EVERY, e);
            }
        }, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
    }

    /** What ran for one project's deployment of a model: how many replicas, and how many GPUs they hold in all. */
    public record ReplicaUse(String project, String model, int replicas, int accelerators) {}

    // ---- rolling up

    /**
     * Rolls the audit records written since the last roll-up into the hourly and daily rollups; returns how many
     * records it read. Safe to call from any replica at any time: a roll-up that finds another moved the position
     * first is rolled back and tried again from there.
     */
    public long roll() {
        long read = 0;
        while (true) {
            long from = position() + 1;
            List<AuditRecord> records = audit.records(from, Long.MAX_VALUE, BATCH);
            if (records.isEmpty()) {
                return read;
            }
            long last = records.getLast().seq();
            Map<Key, long[]> sums = new HashMap<>();
            for (AuditRecord r : records) {
                AuditEvent e = r.event();
                if (!"invoke".equals(e.action()) || !AuditEvent.ALLOW.equals(e.decision())) {
                    continue;
                }
                long[] v = {1, AuditEvent.FAILURE.equals(e.outcome()) ? 1 : 0, e.promptTokens(), e.completionTokens(),
                        0, 0};
                String model = model(e.resource());
                String priority = e.detail().contains(" priority=batch") ? "batch" : "interactive";
                add(sums, new Key("hour", hour(e.at()), e.project(), e.principalId(), model, priority), v);
                add(sums, new Key("day", day(e.at()), e.project(), e.principalId(), model, priority), v);
            }
            boolean moved = jdbi.inTransaction(h -> {
                if (h.createUpdate("UPDATE usage_rollup_progress SET last_seq = :last, updated_at = :at "
                        + "WHERE name = :n AND last_seq = :before").bind("last", last).bind("before", from - 1)
                        .bind("at", Timestamp.from(clock.instant())).bind("n", PROGRESS).execute() == 0) {
                    return false;
                }
                sums.forEach((k, v) -> upsert(h, k, v));
                return true;
            });
            if (moved) {
                read += records.size();
            }
        }
    }

    /** How far the audit trail has been rolled up (its first roll-up starts the record of it). */
    private long position() {
        return jdbi.withHandle(h -> {
            Optional<Long> at = h.createQuery("SELECT last_seq FROM usage_rollup_progress WHERE name = :n")
                    .bind("n", PROGRESS).mapTo(Long.class).findOne();
            if (at.isPresent()) {
                return at.get();
            }
            try {
                h.createUpdate("INSERT INTO usage_rollup_progress (name, last_seq, updated_at) VALUES (:n, 0, :at)")
                        .bind("n", PROGRESS).bind("at", Timestamp.from(clock.instant())).execute();
            } catch (RuntimeException e) {
                if (!ai.factory.storage.Sql.isUniqueViolation(e)) {
                    throw e;
                }
            }
            return 0L;
        });
    }

    /** Charges the replicas that ran in {@code [from, to)} to the hour and day of {@code to}. */
    void recordReplicas(List<ReplicaUse> uses, Instant from, Instant to) {
        long seconds = Math.max(0, Duration.between(from, to).toSeconds());
        if (seconds == 0 || uses.isEmpty()) {
            return;
        }
        Map<Key, long[]> sums = new HashMap<>();
        for (ReplicaUse u : uses) {
            long[] v = {0, 0, 0, 0, seconds * u.replicas(), seconds * u.accelerators()};
            add(sums, new Key("hour", hour(to), u.project(), "", u.model(), ""), v);
            add(sums, new Key("day", day(to), u.project(), "", u.model(), ""), v);
        }
        jdbi.useTransaction(h -> sums.forEach((k, v) -> upsert(h, k, v)));
    }

    private record Key(String period, Instant start, String project, String principal, String model,
                       String priority) {}

    private static void add(Map<Key, long[]> sums, Key key, long[] v) {
        long[] sum = sums.computeIfAbsent(key, k -> new long[6]);
        for (int i = 0; i < v.length; i++) {
            sum[i] += v[i];
        }
    }

    private static void upsert(Handle h, Key k, long[] v) {
        if (h.createUpdate("UPDATE usage_rollups SET requests = requests + :r, errors = errors + :e, "
                        + "prompt_tokens = prompt_tokens + :pt, completion_tokens = completion_tokens + :ct, "
                        + "replica_seconds = replica_seconds + :rs, accelerator_seconds = accelerator_seconds + :as "
                        + "WHERE period = :period AND starts_at = :s AND project = :p AND principal_id = :k "
                        + "AND model = :m AND priority = :prio")
                .bind("r", v[0]).bind("e", v[1]).bind("pt", v[2]).bind("ct", v[3]).bind("rs", v[4]).bind("as", v[5])
                .bind("period", k.period()).bind("s", Timestamp.from(k.start())).bind("p", k.project())
                .bind("k", k.principal()).bind("m", k.model()).bind("prio", k.priority()).execute() == 0) {
            h.createUpdate("INSERT INTO usage_rollups (period, starts_at, project, principal_id, model, priority, "
                            + "requests, errors, prompt_tokens, completion_tokens, replica_seconds, accelerator_seconds) "
                            + "VALUES (:period, :s, :p, :k, :m, :prio, :r, :e, :pt, :ct, :rs, :as)")
                    .bind("r", v[0]).bind("e", v[1]).bind("pt", v[2]).bind("ct", v[3]).bind("rs", v[4])
                    .bind("as", v[5]).bind("period", k.period()).bind("s", Timestamp.from(k.start()))
                    .bind("p", k.project()).bind("k", k.principal()).bind("m", k.model()).bind("prio", k.priority())
                    .execute();
        }
    }

    /** The model an invoke record names, without a version ({@code model=acme/tiny:3} is {@code acme/tiny}). */
    static String model(String resource) {
        String m = resource.startsWith("model=") ? resource.substring("model=".length()) : resource;
        int colon = m.lastIndexOf(':');
        return colon > 0 && m.substring(colon + 1).chars().allMatch(Character::isDigit) && colon < m.length() - 1
                ? m.substring(0, colon) : m;
    }

    private Instant hour(Instant at) {
        return at.atZone(zone).truncatedTo(ChronoUnit.HOURS).toInstant();
    }

    private Instant day(Instant at) {
        return at.atZone(zone).toLocalDate().atStartOfDay(zone).toInstant();
    }

    // ---- reading

    /**
     * One row of usage: the dimensions asked for (the others are summed over) and, with a period, its start.
     *
     * @param dimensions the values of the dimensions asked for, by name ({@code project}, {@code key}, …)
     * @param start the hour or day the row covers, or null for the whole range
     */
    public record Row(@Nullable Instant start, Map<String, String> dimensions, long requests, long errors,
                      long promptTokens, long completionTokens, long replicaSeconds, long acceleratorSeconds) {}

    /**
     * Usage in {@code [from, to)} broken down by {@code by}, per hour or day when {@code per} says so, else summed
     * over the range (from the hourly rollups, so a range need not start on a day). Rolls up first, so the answer
     * includes every call the audit trail holds.
     *
     * @param per {@code hour}, {@code day}, or null for totals over the range
     * @param project only this project's usage, if given
     * @throws FactoryException INVALID_REQUEST naming {@code by} or {@code period} for a dimension or period it does
     *     not know
     */
    public List<Row> query(Set<String> by, @Nullable String per, Instant from, Instant to, Optional<String> project) {
        for (String d : by) {
            if (!DIMENSIONS.containsKey(d)) {
                throw FactoryException.invalidParam("by", "'by' takes project, key, model and priority, not '" + d
                        + "'");
            }
        }
        if (per != null && !per.equals("hour") && !per.equals("day")) {
            throw FactoryException.invalidParam("period", "'period' is hour or day, not '" + per + "'");
        }
        roll();
        List<String> dims = new ArrayList<>(new LinkedHashSet<>(by));
        List<String> columns = new ArrayList<>();
        if (per != null) {
            columns.add("starts_at");
        }
        dims.forEach(d -> columns.add(DIMENSIONS.get(d)));
        String group = String.join(", ", columns);
        String sql = "SELECT " + (group.isEmpty() ? "" : group + ", ") + "SUM(requests) AS requests, "
                + "SUM(errors) AS errors, SUM(prompt_tokens) AS pt, SUM(completion_tokens) AS ct, "
                + "SUM(replica_seconds) AS rs, SUM(accelerator_seconds) AS acs FROM usage_rollups "
                + "WHERE period = :period AND starts_at >= :from AND starts_at < :to"
                + (project.isPresent() ? " AND project = :project" : "")
                + (group.isEmpty() ? "" : " GROUP BY " + group + " ORDER BY " + group);
        return jdbi.withHandle(h -> {
            Query q = h.createQuery(sql).bind("period", per == null ? "hour" : per)
                    .bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to));
            project.ifPresent(p -> q.bind("project", p));
            return q.map((rs, ctx) -> {
                Map<String, String> values = new java.util.LinkedHashMap<>();
                for (String d : dims) {
                    values.put(d, rs.getString(DIMENSIONS.get(d)));
                }
                return new Row(per == null ? null : rs.getTimestamp("starts_at").toInstant(), values,
                        rs.getLong("requests"), rs.getLong("errors"), rs.getLong("pt"), rs.getLong("ct"),
                        rs.getLong("rs"), rs.getLong("acs"));
            }).list().stream().filter(r -> r.requests() > 0 || r.replicaSeconds() > 0 || r.acceleratorSeconds() > 0
                    || group.isEmpty()).toList();
        });
    }

    /** Names {@code by} as a set, from the API's comma-separated list ({@code project,model}). */
    public static Set<String> dimensions(String list) {
        Set<String> by = new LinkedHashSet<>();
        for (String d : list.split(",")) {
            if (!d.isBlank()) {
                by.add(d.strip().toLowerCase(Locale.ROOT));
            }
        }
        return by;
    }
}
