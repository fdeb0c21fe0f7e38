package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.net.URI;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which control-plane replica does the singleton work: placing replicas on workers and moving them when a worker fails
 * or drains, running the fine-tuning queue, retention. Every replica serves the API; one at a time leads.
 *
 * <p>On PostgreSQL the leader holds a session advisory lock on a connection of its own, which the database lets go
 * the moment that connection ends (the process died), so another replica takes it at its next try, within
 * {@link #CHECK_EVERY}; a leader the network cuts off from the database loses it within seconds too, as the
 * server's keepalives on that session go unanswered ({@link #LOCK_SESSION}). Each new leader takes the next term in {@code cluster_leader}. A write that
 * only the leader may make runs {@link #fence} in its own transaction: it locks the term row shared and checks that
 * the term is still this replica's, so a deposed leader's late write fails instead of landing beside the new leader's
 * (the new leader's term update waits for the old write's transaction, or the old write sees the new term).
 *
 * <p>Each replica also records itself in {@code control_replicas} with the URL of its cluster port, refreshed every
 * check, so that workers learn from their heartbeats where the others are.
 *
 * <p>A factory on the embedded H2 is one process: it leads from the start, with no lock.
 */
public final class Leadership implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Leadership.class);
    /** How often a follower tries to lead, and the leader checks that its lock's connection still stands. */
    public static final Duration CHECK_EVERY = Duration.ofMillis(500);
    /** How long a read on the lock's connection, or the wait for the term row, may take before it counts as failed. */
    static final Duration LOCK_READ_TIMEOUT = Duration.ofSeconds(5);
    /** How long a control-plane replica that stopped being seen stays listed (as down). */
    static final Duration FORGET_AFTER = Duration.ofHours(1);
    /**
     * The lock session's own TCP settings on the database server: cut off from its leader by the network (a
     * partition, not a closed connection), the server probes the connection after 2 s of silence, every second, and
     * ends the session after 3 unanswered probes (or 5 s of data it cannot deliver), so that the lock goes about when
     * the leader gives it up itself ({@link #LOCK_READ_TIMEOUT}), not after the operating system's two hours.
     */
    static final List<String> LOCK_SESSION = List.of("SET tcp_keepalives_idle = 2", "SET tcp_keepalives_interval = 1",
            "SET tcp_keepalives_count = 3", "SET tcp_user_timeout = " + LOCK_READ_TIMEOUT.toMillis());
    /** The advisory lock's keys begin with "factory" in ASCII, so that they say whose they are in pg_locks. */
    static final long LOCK_KEY = 0x666163746f7279L;

    private final Jdbi jdbi;
    private final Clock clock;
    private final String id = "cp-" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    private final boolean sole;
    /** Advisory locks are per database, not per schema: the schema the factory's tables are in is part of the key. */
    private final long lockKey;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final @Nullable Thread checker;
    private volatile long term = -1;
    /** Guards the moves of {@link #term} to -1 (a plain monitor, never held across a database call). */
    private final Object termLock = new Object();
    /** Set when the term ended under this replica; the checker gives up the lock at its next turn. */
    private volatile boolean giveUp;
    private volatile @Nullable URI clusterUrl;
    private @Nullable Handle lockHandle;
    private volatile boolean closed;
    /** Whether the log said that the lock's session could not be tuned. */
    private volatile boolean toldUntuned;
    private final ai.factory.storage.ReadCache<Duration, List<URI>> peers;

    /** Told when this replica becomes the leader, and when it stops being one. */
    public interface Listener {
        void elected(long term);

        default void deposed(long term) {
        }
    }

    private Leadership(Jdbi jdbi, Clock clock, boolean sole) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.sole = sole;
        this.peers = new ai.factory.storage.ReadCache<>(clock, CHECK_EVERY);
        this.lockKey = sole ? LOCK_KEY : (LOCK_KEY << 8) ^ jdbi.withHandle(h -> h.createQuery("SELECT current_schema()")
                .mapTo(String.class).one()).hashCode();
        if (sole) {
            this.term = nextTerm();
            this.checker = null;
        } else {
            check(); // leads at once when no other replica does
            this.checker = Thread.ofVirtual().name("leadership").start(this::run);
        }
    }

    /** Leadership among the control-plane replicas on {@code jdbi}'s PostgreSQL; sole leadership on H2. */
    public static Leadership on(Jdbi jdbi, Clock clock) {
        return new Leadership(jdbi, clock, ai.factory.storage.Sql.isH2(jdbi));
    }

    /** A process that is the only one on its database (an all-in-one factory): it leads from the start. */
    public static Leadership sole(Jdbi jdbi, Clock clock) {
        return new Leadership(jdbi, clock, true);
    }

    /** This replica's id, as recorded in {@code cluster_leader} and {@code control_replicas}. */
    public String id() {
        return id;
    }

    /** The advisory lock's key on this database and schema. */
    long lockKey() {
        return lockKey;
    }

    public boolean isLeader() {
        return term >= 0;
    }

    /** The term this replica leads in, or -1 when it does not lead. */
    public long term() {
        return term;
    }

    /** Tells {@code listener} of every change from now on, and at once when this replica leads already. */
    public void listen(Listener listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
        long now = term;
        if (now >= 0) {
            listener.elected(now);
        }
    }

    /**
     * Checks, inside the caller's transaction on {@code h}, that this replica still leads: locks the term row shared
     * until the transaction ends, so no new leader takes over under the write. UNAVAILABLE when it does not lead.
     */
    public void fence(Handle h) {
        long mine = term;
        if (mine < 0) {
            throw notLeader();
        }
        if (sole) {
            return;
        }
        long current = h.createQuery("SELECT term FROM cluster_leader WHERE id = 1 FOR SHARE").mapTo(Long.class).one();
        if (current != mine) {
            LOG.warn("leadership: term {} ended (the database has term {}); this replica no longer leads", mine, current);
            depose(mine);
            throw notLeader();
        }
    }

    private static FactoryException notLeader() {
        return new FactoryException(ErrorCode.UNAVAILABLE, "this control-plane replica does not lead now; the leader "
                + "does this");
    }

    /**
     * Records where workers reach this replica's cluster port; refreshed at every check from now on. Synchronized:
     * the check's refresh and the start's first call may come at once, and both would find no row and insert one.
     */
    public synchronized void announce(URI url) {
        this.clusterUrl = requireNonNull(url, "url is null");
        Instant now = clock.instant();
        jdbi.useHandle(h -> {
            int updated = h.createUpdate("UPDATE control_replicas SET cluster_url = :url, seen_at = :now WHERE id = :id")
                    .bind("url", url.toString()).bind("now", Timestamp.from(now)).bind("id", id).execute();
            if (updated == 0) {
                h.createUpdate("INSERT INTO control_replicas (id, cluster_url, started_at, seen_at) "
                                + "VALUES (:id, :url, :now, :now)")
                        .bind("id", id).bind("url", url.toString()).bind("now", Timestamp.from(now)).execute();
            }
        });
    }

    /**
     * The cluster URLs of the control-plane replicas seen within {@code within}, this one's first; the leader's next.
     */
    public List<URI> replicas(Duration within) {
        // Every heartbeat's answer names them: read at most every check, not once per heartbeat.
        return peers.get(within, w -> Optional.of(readReplicas(w))).orElseThrow();
    }

    private List<URI> readReplicas(Duration within) {
        Timestamp since = Timestamp.from(clock.instant().minus(within));
        String leader = jdbi.withHandle(h -> h.createQuery("SELECT holder FROM cluster_leader WHERE id = 1")
                .mapTo(String.class).one());
        List<Replica> all = jdbi.withHandle(h -> h.createQuery("SELECT id, cluster_url FROM control_replicas "
                        + "WHERE seen_at >= :since ORDER BY started_at, id").bind("since", since)
                .map((rs, ctx) -> new Replica(rs.getString(1), URI.create(rs.getString(2)))).list());
        return all.stream().sorted(java.util.Comparator.comparingInt(r -> r.id().equals(id) ? 0
                : r.id().equals(leader) ? 1 : 2)).map(Replica::url).toList();
    }

    private record Replica(String id, URI url) {}

    /** The ids of the control-plane replicas seen within {@code within}, this one's always among them. */
    public java.util.Set<String> liveReplicas(Duration within) {
        java.util.Set<String> live = new java.util.HashSet<>(jdbi.withHandle(h -> h.createQuery("SELECT id FROM "
                + "control_replicas WHERE seen_at >= :since").bind("since", Timestamp.from(clock.instant().minus(within)))
                .mapTo(String.class).list()));
        live.add(id);
        return live;
    }

    /**
     * A control-plane replica as recorded.
     *
     * @param leader whether it holds the current term
     */
    public record ControlReplica(String id, URI clusterUrl, Instant startedAt, Instant seenAt, boolean leader) {}

    /** Every control-plane replica recorded (those that stopped cleanly left), oldest first. */
    public List<ControlReplica> all() {
        return jdbi.withHandle(h -> {
            String leader = h.createQuery("SELECT holder FROM cluster_leader WHERE id = 1").mapTo(String.class).one();
            return h.createQuery("SELECT id, cluster_url, started_at, seen_at FROM control_replicas "
                    + "ORDER BY started_at, id").map((rs, ctx) -> new ControlReplica(rs.getString(1),
                    URI.create(rs.getString(2)), rs.getTimestamp(3).toInstant(), rs.getTimestamp(4).toInstant(),
                    rs.getString(1).equals(leader))).list();
        });
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(CHECK_EVERY);
            } catch (InterruptedException e) {
                return;
            }
            check();
        }
    }

    /**
     * One check: lead if no one does; if leading, make sure the lock's connection still stands. Runs on the checker
     * thread alone (and once in the constructor), so the lock's connection is this thread's: {@link #depose} only
     * flags it to be given up here.
     */
    private synchronized void check() {
        if (closed) {
            return;
        }
        try {
            if (lockHandle == null) {
                Handle opened = jdbi.open();
                lockHandle = opened;
                // A half-open connection must fail a check, not hang it: reads on it time out.
                opened.getConnection().setNetworkTimeout(Runnable::run, (int) LOCK_READ_TIMEOUT.toMillis());
                tuneLockSession(opened);
            }
            Handle h = lockHandle;
            if (giveUp) {
                giveUp = false;
                discardLock(); // the term ended under this replica: the lock's session goes, and the lock with it
                return;
            }
            if (term < 0) {
                boolean got = h.createQuery("SELECT pg_try_advisory_lock(:key)").bind("key", lockKey)
                        .mapTo(Boolean.class).one();
                if (got) {
                    long taken = nextTerm();
                    term = taken;
                    LOG.info("leadership: this control-plane replica ({}) leads now, term {}", id, taken);
                    listeners.forEach(l -> tell(() -> l.elected(taken)));
                }
            } else {
                h.createQuery("SELECT 1").mapTo(Integer.class).one();
            }
        } catch (RuntimeException | java.sql.SQLException e) {
            LOG.warn("leadership: the database connection of the lock failed: {}", e.getMessage());
            discardLock();
            depose(term);
        }
        if (term >= 0) {
            forgetLongGone();
        }
        URI url = clusterUrl;
        if (url != null) {
            try {
                announce(url);
            } catch (RuntimeException e) {
                LOG.warn("leadership: cannot record this replica as alive: {}", e.getMessage());
            }
        }
    }

    /** The leader forgets replicas not seen for {@link #FORGET_AFTER} (killed, never to return under that id). */
    private void forgetLongGone() {
        try {
            jdbi.useHandle(h -> h.createUpdate("DELETE FROM control_replicas WHERE seen_at < :before")
                    .bind("before", Timestamp.from(clock.instant().minus(FORGET_AFTER))).execute());
        } catch (RuntimeException e) {
            LOG.debug("leadership: cannot forget replicas long gone: {}", e.getMessage());
        }
    }

    /**
     * Sets {@link #LOCK_SESSION} on the lock's session, each on its own: a server that refuses one (an older
     * PostgreSQL without {@code tcp_user_timeout}) still gives the lock, only without that setting, and says so once.
     */
    private void tuneLockSession(Handle h) {
        for (String setting : LOCK_SESSION) {
            try {
                h.execute(setting);
            } catch (RuntimeException e) {
                if (!toldUntuned) {
                    toldUntuned = true;
                    LOG.warn("leadership: the database refused '{}' ({}): a leader cut off from it by the network may "
                            + "keep the lock until the server's own keepalives end the session", setting,
                            e.getMessage());
                }
                // A refused SET aborts nothing outside a transaction; the session goes on.
            }
        }
    }

    /**
     * Takes the next term, naming this replica as its holder. Waits a bounded time for the term row: a writer of the
     * term before holds it shared until its transaction ends.
     */
    private long nextTerm() {
        return jdbi.inTransaction(h -> {
            if (!sole) {
                h.execute("SET LOCAL lock_timeout = '" + LOCK_READ_TIMEOUT.toMillis() + "ms'");
            }
            h.createUpdate("UPDATE cluster_leader SET term = term + 1, holder = :me, since = :now WHERE id = 1")
                    .bind("me", id).bind("now", Timestamp.from(clock.instant())).execute();
            return h.createQuery("SELECT term FROM cluster_leader WHERE id = 1").mapTo(Long.class).one();
        });
    }

    /**
     * Ends the lock's session for good: the physical connection is aborted (the pool drops it instead of lending it
     * out again with the lock held), so the database lets go of the lock.
     */
    private void discardLock() {
        Handle h = lockHandle;
        lockHandle = null;
        if (h == null) {
            return;
        }
        try {
            h.getConnection().abort(Runnable::run);
        } catch (java.sql.SQLException | RuntimeException e) {
            LOG.debug("leadership: aborting the lock's connection: {}", e.getMessage());
        }
        try {
            h.close();
        } catch (RuntimeException ignored) {
            // the connection is gone already
        }
    }

    /**
     * Term {@code ended} is over for this replica: from now on it does not lead, and its listeners hear so. Lock-free,
     * so that a writer that finds its term gone (in {@link #fence}, holding the term row) never waits on the checker;
     * the lock itself is given up at the checker's next turn.
     */
    private void depose(long ended) {
        if (ended < 0) {
            return;
        }
        synchronized (termLock) {
            if (term != ended) {
                return;
            }
            term = -1;
        }
        giveUp = !closed;
        LOG.warn("leadership: this control-plane replica ({}) no longer leads (term {} ended)", id, ended);
        listeners.forEach(l -> tell(() -> l.deposed(ended)));
    }

    private static void tell(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("leadership: a listener failed: {}", e.getMessage(), e);
        }
    }

    /** Stops leading (the lock goes with its connection) and stops checking; this replica leaves the list. */
    @Override
    public void close() {
        closed = true;
        if (checker != null) {
            checker.interrupt();
        }
        synchronized (termLock) {
            term = -1;
        }
        synchronized (this) {
            discardLock();
        }
        try {
            jdbi.useHandle(h -> h.createUpdate("DELETE FROM control_replicas WHERE id = :id").bind("id", id).execute());
        } catch (RuntimeException e) {
            LOG.debug("leadership: cannot remove this replica from the list: {}", e.getMessage());
        }
    }
}
