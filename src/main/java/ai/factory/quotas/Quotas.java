package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.engine.Priority;
import ai.factory.identity.Principal;
import ai.factory.quotas.QuotaExceededException.Kind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The site's quotas, and their enforcement before each call is admitted.
 *
 * <p>Per-minute limits are token buckets held in memory: a bucket holds at most the limit and refills at the limit
 * per minute, a call takes one request and its tokens (its prompt and the output it may generate), and the tokens
 * it did not use come back when it ends. Concurrency is a counter in memory. Several control-plane replicas divide
 * each of these evenly (each holds 1/N of every bucket and of every concurrency limit, at least one call), so
 * together they never admit more than the limit (unless it is below N), at the price that a replica which takes more than its share of a
 * caller's traffic refuses earlier. Budgets (tokens per day and per month, in the site's time zone) are counted in
 * the database: each replica adds what its calls used every {@link #SYNC} and reads back what all did, so replicas
 * together may overshoot a budget by what the others admitted within one such interval.
 *
 * <p>Calls wait for the database only for a budget's first call of each period on each replica, which reads what
 * was spent so far (the audit trail seeds a period, so a budget set mid-month counts the month from its start); after
 * that the background sync alone reads and writes it. A database that cannot be read then refuses the call (503).
 */
public final class Quotas implements AutoCloseable {
    /** How often budgets are written and read back, and quotas set on other replicas are picked up. */
    public static final Duration SYNC = Duration.ofSeconds(2);
    /**
     * The output tokens a call that sets no {@code max_tokens} reserves against its per-minute and budget limits (or
     * the rest of its context, when less); what it really used is settled when it ends.
     */
    public static final int DEFAULT_OUTPUT_RESERVE = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(Quotas.class);
    private static final long MINUTE_NANOS = Duration.ofMinutes(1).toNanos();

    private final QuotaStore store;
    private final Clock clock;
    private final ZoneId zone;
    private final IntSupplier replicas;
    private final Object lock = new Object();
    /** The quotas by scope, with their counters; replaced whole when quotas change. Guarded by lock for counters. */
    private volatile Map<QuotaScope, Rule> rules = Map.of();
    private final Map<SpendKey, Spend> spends = new ConcurrentHashMap<>();
    private int shares = 1; // guarded by lock
    /** The control-plane replicas last counted (by the sync, so that no call waits for the count). */
    private volatile int liveReplicas = 1;
    /** When the sync last forgot old days' spend. Only the sync uses it. */
    private Instant lastForget = Instant.EPOCH;
    private @Nullable ScheduledExecutorService sync;

    /**
     * @param clock the time the limits are counted in
     * @param zone the site's time zone, where budget days and months begin
     * @param replicas how many control-plane replicas share the limits now (1 for a factory of one)
     */
    public Quotas(Jdbi jdbi, Clock clock, ZoneId zone, IntSupplier replicas) {
        this.store = new QuotaStore(requireNonNull(jdbi, "jdbi is null"));
        this.clock = requireNonNull(clock, "clock is null");
        this.zone = requireNonNull(zone, "zone is null");
        this.replicas = requireNonNull(replicas, "replicas is null");
        this.liveReplicas = Math.max(1, replicas.getAsInt());
        reload();
    }

    /** Starts the background sync of budgets and of quotas set elsewhere. */
    public synchronized void start() {
        if (sync == null) {
            sync = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("quota-sync").factory());
            sync.scheduleWithFixedDelay(this::syncQuietly, SYNC.toMillis(), SYNC.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Stops the sync after writing what budgets spent since the last. */
    @Override
    public synchronized void close() {
        if (sync != null) {
            sync.shutdownNow();
            sync = null;
        }
        syncQuietly();
    }

    /** The site's time zone, where budget periods begin. */
    public ZoneId zone() {
        return zone;
    }

    // ---- managing quotas

    public List<Quota> list() {
        return store.list();
    }

    public Optional<Quota> find(QuotaScope scope) {
        return store.find(scope);
    }

    /**
     * The most accelerators {@code project}'s replicas may hold at once, as its quota says now (read from the
     * database, so that every control-plane replica places by the same number); -1 where it sets none.
     */
    public int accelerators(String project) {
        Integer limit = store.find(QuotaScope.project(project)).map(q -> q.limits().accelerators()).orElse(null);
        return limit == null ? -1 : limit;
    }

    /**
     * Sets a scope's limits (replacing what it had) and applies them at once on this replica; others pick them up
     * within {@link #SYNC}. A key's limits, and a model's, lie within the project's own: none may exceed the limit
     * of the same kind set on the project (on that model, or on every model).
     *
     * @throws FactoryException INVALID_REQUEST naming the limit that exceeds the project's
     */
    public Quota set(QuotaScope scope, Limits limits, String by) {
        requireNonNull(scope, "scope is null");
        requireNonNull(limits, "limits is null");
        if (limits.accelerators() != null && (scope.isKey() || scope.isModel())) {
            throw FactoryException.invalidParam("accelerators", "'accelerators' limits what a project's replicas hold, "
                    + "so it is set on the project's own quota (no key, no model), not on " + scope.describe());
        }
        for (QuotaScope above : bounds(scope)) {
            store.find(above).ifPresent(q -> within(limits, q));
        }
        Quota quota = new Quota(scope, limits, clock.instant(), by);
        Limits before = store.find(scope).map(Quota::limits).orElse(Limits.NONE);
        store.put(quota);
        if (!java.util.Objects.equals(before.tokensPerDay(), limits.tokensPerDay())
                || !java.util.Objects.equals(before.tokensPerMonth(), limits.tokensPerMonth())) {
            // Calls made while the scope had no budget were not counted: its periods count afresh from the audit
            // trail, which holds them all.
            store.forgetSpend(scope);
            spends.keySet().removeIf(k -> k.scope().equals(scope));
        }
        reload();
        return quota;
    }

    /** The scopes whose limits bound {@code scope}'s: the project's on its model and on every model. */
    private static List<QuotaScope> bounds(QuotaScope scope) {
        List<QuotaScope> above = new ArrayList<>(2);
        if (scope.isKey()) {
            above.add(scope.projectWide());
        }
        if (scope.isModel() || scope.isKey()) {
            QuotaScope whole = QuotaScope.project(scope.project());
            if (!above.contains(whole)) {
                above.add(whole);
            }
        }
        return above;
    }

    private static void within(Limits limits, Quota bound) {
        Limits b = bound.limits();
        exceeds("rpm", limits.rpm(), b.rpm(), bound);
        exceeds("tpm", limits.tpm(), b.tpm(), bound);
        exceeds("concurrency", limits.concurrency() == null ? null : limits.concurrency().longValue(),
                b.concurrency() == null ? null : b.concurrency().longValue(), bound);
        exceeds("tokensPerDay", limits.tokensPerDay(), b.tokensPerDay(), bound);
        exceeds("tokensPerMonth", limits.tokensPerMonth(), b.tokensPerMonth(), bound);
    }

    private static void exceeds(String field, @Nullable Long value, @Nullable Long bound, Quota by) {
        if (value != null && bound != null && value > bound) {
            throw FactoryException.invalidParam(field, "'" + field + "' of " + value + " is more than the " + bound
                    + " set on " + by.scope().describe() + "; a key's or a model's limits lie within its project's");
        }
    }

    /** Removes a scope's quota; false when it had none. */
    public boolean remove(QuotaScope scope) {
        boolean removed = store.delete(scope);
        reload();
        return removed;
    }

    /** Forgets every quota of a deleted project, and what its budgets spent. */
    public void deleteProject(String project) {
        store.deleteProject(project);
        spends.keySet().removeIf(k -> k.scope().project().equals(project));
        reload();
    }

    /** Reads the quotas again, keeping the counters of scopes whose limits did not change. */
    private void reload() {
        List<Quota> quotas = store.list();
        synchronized (lock) {
            Map<QuotaScope, Rule> old = rules;
            Map<QuotaScope, Rule> fresh = new HashMap<>();
            long now = nanos();
            for (Quota q : quotas) {
                Rule before = old.get(q.scope());
                if (before != null && sameCounters(before.quota.limits(), q.limits())) {
                    before.quota = q;
                    fresh.put(q.scope(), before);
                } else {
                    fresh.put(q.scope(), new Rule(q, before, now, shares));
                }
            }
            rules = Map.copyOf(fresh);
        }
    }

    /** Whether two quotas count alike (a priority changed alone keeps the buckets as they are). */
    private static boolean sameCounters(Limits a, Limits b) {
        return java.util.Objects.equals(a.rpm(), b.rpm()) && java.util.Objects.equals(a.tpm(), b.tpm())
                && java.util.Objects.equals(a.concurrency(), b.concurrency());
    }

    // ---- admission

    /**
     * Admits a call of {@code principal} to {@code model} or refuses it, before anything is queued: counts one
     * request, reserves {@code promptTokens + outputTokens} against the per-minute tokens and the budgets, and takes
     * a concurrency slot, of every quota that applies (the project's and the key's, on every model and on this one).
     * The ticket gives back what the call did not use when it is settled.
     *
     * @param model the model's name without version
     * @param asked the priority the call asked for, or null for its key's or project's
     * @throws QuotaExceededException naming the first limit that refuses it
     */
    public Ticket admit(Principal principal, String model, long promptTokens, long outputTokens,
                        @Nullable Priority asked) {
        Map<QuotaScope, Rule> now = rules;
        if (now.isEmpty()) {
            return Ticket.free(priority(List.of(), asked));
        }
        List<Rule> applied = applicable(now, principal, model);
        Priority priority = priority(applied, asked);
        if (applied.stream().noneMatch(r -> r.quota.limits().limitsAnything())) {
            return Ticket.free(priority);
        }
        long need = Math.max(0, promptTokens) + Math.max(0, outputTokens);
        Instant at = clock.instant();
        List<Spend> budgets = new ArrayList<>(2);
        for (Rule r : applied) {
            Limits l = r.quota.limits();
            if (l.tokensPerDay() != null) {
                budgets.add(spend(r.quota.scope(), Kind.DAY, at));
            }
            if (l.tokensPerMonth() != null) {
                budgets.add(spend(r.quota.scope(), Kind.MONTH, at));
            }
        }
        synchronized (lock) {
            long t = nanos();
            resize();
            for (Rule r : applied) {
                r.refill(t);
            }
            for (Rule r : applied) {
                refuseIfOver(r, need, t, at, applied);
            }
            for (Rule r : applied) {
                r.take(need);
            }
            for (Spend s : budgets) {
                s.reserved += need;
            }
            return new Admitted(applied, budgets, need, priority, status(applied, t));
        }
    }

    /** The quotas that apply to a call: the project's and the key's, on every model and on the model named. */
    private static List<Rule> applicable(Map<QuotaScope, Rule> rules, Principal principal, String model) {
        List<Rule> applied = new ArrayList<>(4);
        // Most specific first: its priority wins, and its limit is named first when several refuse.
        for (QuotaScope scope : List.of(new QuotaScope(principal.project(), principal.id(), model),
                new QuotaScope(principal.project(), principal.id(), ""),
                new QuotaScope(principal.project(), "", model), QuotaScope.project(principal.project()))) {
            Rule r = rules.get(scope);
            if (r != null) {
                applied.add(r);
            }
        }
        return applied;
    }

    /**
     * A call's priority class: batch when any quota that applies says batch (a key's own quota cannot lift what its
     * project was given, nor can a call), else what the call asked for, else interactive.
     */
    private static Priority priority(List<Rule> applied, @Nullable Priority asked) {
        for (Rule r : applied) {
            if (r.quota.limits().priority() == Priority.BATCH) {
                return Priority.BATCH;
            }
        }
        return asked != null ? asked : Priority.INTERACTIVE;
    }

    /** Refuses the call if {@code r} has no room for it. Under lock. */
    private void refuseIfOver(Rule r, long need, long t, Instant at, List<Rule> applied) {
        Limits l = r.quota.limits();
        QuotaScope scope = r.quota.scope();
        if (r.requests != null && r.requests.level < 1) {
            Duration wait = r.requests.until(1);
            throw refusal(Kind.REQUESTS, scope, r.requests.limit, wait, true, applied, t,
                    "limit %d, none left; try again in %s", r.requests.limit, seconds(wait));
        }
        if (r.tokens != null) {
            long tpm = r.tokens.limit;
            if (need > tpm) {
                throw refusal(Kind.TOKENS, scope, tpm, Duration.ZERO, false, applied, t,
                        "limit %d%s, and this call alone needs %d (its prompt and the output it may generate); ask "
                                + "for fewer output tokens (max_tokens) or send a shorter prompt",
                        tpm, "", need);
            }
            // A call larger than this replica's share of the limit passes once the share is whole, and leaves it in
            // debt: over a minute the replicas together still stay within the limit.
            double fits = Math.min(need, r.tokens.capacity);
            if (r.tokens.level < fits) {
                Duration wait = r.tokens.until(fits);
                throw refusal(Kind.TOKENS, scope, tpm, wait, true, applied, t,
                        "limit %d, %d left, and this call needs %d; try again in %s", tpm,
                        Math.max(0, (long) Math.floor(r.tokens.level)), need, seconds(wait));
            }
        }
        Integer concurrency = l.concurrency();
        if (concurrency != null && r.running.calls >= r.concurrency) {
            throw refusal(Kind.CONCURRENCY, scope, concurrency, Duration.ofSeconds(1), true, applied, t,
                    "limit %d%s, all running; try again when one ends", concurrency,
                    shares > 1 ? " (" + r.concurrency + " on each of " + shares + " control-plane replicas)" : "");
        }
        for (Kind kind : List.of(Kind.DAY, Kind.MONTH)) {
            Long budget = kind == Kind.DAY ? l.tokensPerDay() : l.tokensPerMonth();
            if (budget == null) {
                continue;
            }
            Spend s = spends.get(new SpendKey(scope, kind, periodStart(kind, at)));
            if (s != null && s.used() + need > budget) {
                Duration wait = Duration.between(at, s.end);
                throw refusal(kind, scope, budget, wait, false, applied, t,
                        "limit %d for %s (%s), %d used, and this call needs %d; it renews at %s", budget,
                        period(kind, s.start), zone, Math.min(s.used(), budget), need,
                        s.end.atZone(zone).toOffsetDateTime());
            }
        }
    }

    private QuotaExceededException refusal(Kind kind, QuotaScope scope, long value, Duration retry,
                                           boolean retryable, List<Rule> applied, long t, String format,
                                           Object... args) {
        String message = (kind.isBudget() ? "Quota exceeded for " : "Rate limit reached for ") + scope.describe()
                + " on " + kind.label() + ": " + format.formatted(args);
        return new QuotaExceededException(kind, scope, value, retry, retryable, status(applied, t), message);
    }

    /** A wait as a person reads it: {@code 1.2s}. */
    private static String seconds(Duration wait) {
        return String.format(java.util.Locale.ROOT, "%.1fs", Math.max(0.1, wait.toMillis() / 1000.0));
    }

    private String period(Kind kind, Instant start) {
        LocalDate day = start.atZone(zone).toLocalDate();
        return kind == Kind.DAY ? day.toString() : day.toString().substring(0, 7);
    }

    /** The tightest requests and tokens limits among {@code applied}, as they stand. Under lock. */
    private LimitStatus status(List<Rule> applied, long t) {
        LimitStatus.Counter requests = null;
        LimitStatus.Counter tokens = null;
        for (Rule r : applied) {
            if (r.requests != null) {
                LimitStatus.Counter c = r.requests.counter(shares);
                requests = requests == null || c.remaining() < requests.remaining() ? c : requests;
            }
            if (r.tokens != null) {
                LimitStatus.Counter c = r.tokens.counter(shares);
                tokens = tokens == null || c.remaining() < tokens.remaining() ? c : tokens;
            }
        }
        return new LimitStatus(requests, tokens);
    }

    /** Divides the buckets and concurrency anew when the number of control-plane replicas changed. Under lock. */
    private void resize() {
        int n = liveReplicas;
        if (n != shares) {
            shares = n;
            long t = nanos();
            rules.values().forEach(r -> r.share(n, t));
        }
    }

    private long nanos() {
        Instant at = clock.instant();
        return at.getEpochSecond() * 1_000_000_000L + at.getNano();
    }

    // ---- budgets

    /** What a scope spent in the current day and month, as this replica counts it (its running calls' reservations too). */
    public record Spent(long today, long thisMonth) {}

    /**
     * What {@code scope} spent so far in the current day and month, for the budgets it has (0 for one it has not:
     * its calls are not counted).
     */
    public Spent spent(QuotaScope scope) {
        Instant at = clock.instant();
        Rule rule = rules.get(scope);
        Limits l = rule == null ? Limits.NONE : rule.quota.limits();
        Spend day = l.tokensPerDay() == null ? null : spend(scope, Kind.DAY, at);
        Spend month = l.tokensPerMonth() == null ? null : spend(scope, Kind.MONTH, at);
        synchronized (lock) {
            return new Spent(day == null ? 0 : day.used(), month == null ? 0 : month.used());
        }
    }

    private Spend spend(QuotaScope scope, Kind kind, Instant at) {
        Instant start = periodStart(kind, at);
        try {
            return spends.computeIfAbsent(new SpendKey(scope, kind, start), k -> {
                Instant end = periodEnd(kind, start);
                // The period's first call here reads what every replica (and the audit trail) counted so far.
                long total = store.addSpend(scope, periodName(kind), start, end, 0);
                return new Spend(start, end, total);
            });
        } catch (RuntimeException e) {
            LOG.warn("quotas: cannot read what {} spent this {}", scope.describe(), periodName(kind), e);
            throw new FactoryException(ai.factory.ErrorCode.UNAVAILABLE, "the budgets of " + scope.describe()
                    + " cannot be read now, so the call was not run; try again shortly");
        }
    }

    /** The period as the database names it: {@code day} or {@code month}. */
    private static String periodName(Kind kind) {
        return kind == Kind.DAY ? "day" : "month";
    }

    private Instant periodStart(Kind kind, Instant at) {
        LocalDate day = at.atZone(zone).toLocalDate();
        return (kind == Kind.DAY ? day : day.withDayOfMonth(1)).atStartOfDay(zone).toInstant();
    }

    private Instant periodEnd(Kind kind, Instant start) {
        ZonedDateTime s = start.atZone(zone);
        return (kind == Kind.DAY ? s.toLocalDate().plusDays(1) : s.toLocalDate().plusMonths(1)).atStartOfDay(zone)
                .toInstant();
    }

    private void syncQuietly() {
        try {
            sync();
        } catch (RuntimeException e) {
            LOG.warn("quotas: could not sync budgets and quotas with the database; retrying in {}", SYNC, e);
        }
    }

    /** Writes what this replica's calls spent, reads back what all did, and picks up quotas set elsewhere. */
    void sync() {
        liveReplicas = Math.max(1, replicas.getAsInt());
        Instant at = clock.instant();
        if (at.isAfter(lastForget.plus(Duration.ofHours(1)))) {
            // Days long past are no budget's any more; months are kept (a year of them is a dozen rows a scope).
            store.forgetSpendBefore(at.minus(Duration.ofDays(40)));
            lastForget = at;
        }
        for (Map.Entry<SpendKey, Spend> e : spends.entrySet()) {
            Spend s = e.getValue();
            long delta;
            synchronized (lock) {
                delta = s.unflushed;
                s.unflushed = 0;
                s.flushing += delta;
            }
            long total;
            try {
                total = store.addSpend(e.getKey().scope(), periodName(e.getKey().kind()), s.start, s.end, delta);
            } catch (RuntimeException failed) {
                synchronized (lock) {
                    s.flushing -= delta;
                    s.unflushed += delta;
                }
                throw failed;
            }
            synchronized (lock) {
                s.flushing -= delta;
                s.stored = total;
                // Kept a while past its end: a call admitted at the last moment may still take it and settle into it.
                if (at.isAfter(s.end.plus(Duration.ofMinutes(10))) && s.reserved == 0 && s.unflushed == 0) {
                    spends.remove(e.getKey(), s);
                }
            }
        }
        reload();
    }

    // ---- counters

    /** A per-minute token bucket of one replica: its share of the limit, refilled continuously. */
    private static final class Bucket {
        /** The limit per minute, over every replica. */
        long limit;
        double capacity;
        double perNano;
        double level;
        long at;

        Bucket(long limit, int shares, long now) {
            this.limit = limit;
            capacity = share(limit, shares);
            perNano = capacity / MINUTE_NANOS;
            level = capacity;
            at = now;
        }

        /** A replica's share of a limit: at least one, so a limit below the replicas' number still lets calls in. */
        static double share(long limit, int shares) {
            return Math.max(1, (double) limit / shares);
        }

        void refill(long now) {
            if (now > at) {
                level = Math.min(capacity, level + (now - at) * perNano);
                at = now;
            }
        }

        void share(long limit, int shares, long now) {
            refill(now);
            double fraction = level / capacity;
            this.limit = limit;
            capacity = share(limit, shares);
            perNano = capacity / MINUTE_NANOS;
            level = fraction * capacity;
        }

        Duration until(double need) {
            return Duration.ofNanos((long) Math.ceil(Math.max(0, need - level) / perNano));
        }

        LimitStatus.Counter counter(int shares) {
            long remaining = Math.max(0, (long) Math.floor(level * shares));
            return new LimitStatus.Counter(limit, Math.min(remaining, limit), until(capacity));
        }
    }

    /**
     * One quota and this replica's counters for it: the same object while its limits stay the same. Counters are
     * guarded by the enclosing lock.
     */
    private static final class Rule {
        volatile Quota quota;
        final @Nullable Bucket requests;
        final @Nullable Bucket tokens;
        int concurrency;
        /** The scope's calls running here, carried over when its limits change (they still end here). */
        final Running running;

        Rule(Quota quota, @Nullable Rule before, long now, int shares) {
            this.quota = quota;
            Limits l = quota.limits();
            requests = l.rpm() == null ? null : new Bucket(l.rpm(), shares, now);
            tokens = l.tpm() == null ? null : new Bucket(l.tpm(), shares, now);
            concurrency = concurrencyShare(l, shares);
            running = before == null ? new Running() : before.running;
        }

        static int concurrencyShare(Limits l, int shares) {
            return l.concurrency() == null ? Integer.MAX_VALUE : Math.max(1, l.concurrency() / shares);
        }

        void refill(long t) {
            if (requests != null) {
                requests.refill(t);
            }
            if (tokens != null) {
                tokens.refill(t);
            }
        }

        void share(int shares, long t) {
            Limits l = quota.limits();
            if (requests != null && l.rpm() != null) {
                requests.share(l.rpm(), shares, t);
            }
            if (tokens != null && l.tpm() != null) {
                tokens.share(l.tpm(), shares, t);
            }
            concurrency = concurrencyShare(l, shares);
        }

        void take(long need) {
            if (requests != null) {
                requests.level -= 1;
            }
            if (tokens != null) {
                tokens.level -= need;
            }
            running.calls++;
        }
    }

    /** How many calls of one scope run here. Guarded by the enclosing lock. */
    private static final class Running {
        int calls;
    }

    private record SpendKey(QuotaScope scope, Kind kind, Instant start) {}

    /** What a budget's scope spent in one period. Guarded by the enclosing lock. */
    private static final class Spend {
        final Instant start;
        final Instant end;
        /** The sum every replica stored, as last read. */
        long stored;
        /** Settled here, being written. */
        long flushing;
        /** Settled here, not yet written. */
        long unflushed;
        /** Reserved by calls running here. */
        long reserved;

        Spend(Instant start, Instant end, long stored) {
            this.start = start;
            this.end = end;
            this.stored = stored;
        }

        long used() {
            return stored + flushing + unflushed + reserved;
        }
    }

    /** A call admitted under quotas: settles what it used once. */
    private final class Admitted implements Ticket {
        private final List<Rule> rules;
        private final List<Spend> budgets;
        private final long reserved;
        private final Priority priority;
        private final LimitStatus status;
        private boolean settled; // guarded by lock

        Admitted(List<Rule> rules, List<Spend> budgets, long reserved, Priority priority, LimitStatus status) {
            this.rules = rules;
            this.budgets = budgets;
            this.reserved = reserved;
            this.priority = priority;
            this.status = status;
        }

        @Override
        public Priority priority() {
            return priority;
        }

        @Override
        public LimitStatus status() {
            return status;
        }

        @Override
        public void settle(long promptTokens, long completionTokens) {
            end(Math.max(0, promptTokens) + Math.max(0, completionTokens), false);
        }

        @Override
        public void cancel() {
            end(0, true);
        }

        private void end(long used, boolean unrun) {
            synchronized (lock) {
                if (settled) {
                    return;
                }
                settled = true;
                for (Rule r : rules) {
                    r.running.calls--;
                    if (r.tokens != null) {
                        // Unused tokens come back; a call that used more than it reserved leaves the bucket in debt.
                        r.tokens.level = Math.min(r.tokens.capacity, r.tokens.level + reserved - used);
                    }
                    if (unrun && r.requests != null) {
                        r.requests.level = Math.min(r.requests.capacity, r.requests.level + 1);
                    }
                }
                for (Spend s : budgets) {
                    s.reserved -= reserved;
                    s.unflushed += used;
                }
            }
        }
    }
}
