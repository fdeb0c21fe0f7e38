package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.config.AuditConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Appends audit events to the hash chain from one writer thread, with group commit: callers hand an event to a
 * bounded queue and go on; the writer takes whatever has queued up and commits it as one transaction, together with
 * the signed digests it makes due ({@link Sealer}: as soon as {@code audit.digestEvery} records are unsigned, and
 * before one has waited {@code audit.digestInterval}); a timer signs what waits that long when nothing else comes.
 *
 * <p>Each writer opens its run with an {@code audit.start} record and closes it with {@code audit.stop}, each signed
 * at once: the start record names the cadence the writer runs with (so a cadence is always signed before records are
 * judged by it) and any records the last run left unsigned (it did not stop cleanly); the stop record's digest is the
 * final digest, which covers the last record and, on a database no other writer can open ({@link Options#exclusive}),
 * is marked {@code closing}, after which no unsigned record may appear. The newest durable digest goes to the home
 * anchor ({@link HomeAnchor}) when there is one.
 *
 * <p>Backpressure: when the queue is full (the database is slower than the traffic, or down), {@link #record}
 * waits up to {@link #OFFER_WAIT} for room, so the callers slow down with the trail rather than outrun it. An
 * event that still finds no room is dropped, logged at ERROR and counted in {@code factory_audit_dropped_total},
 * which an operator should alert on. A request never waits for a database commit: the HTTP hook records an event
 * only once its response is complete.
 *
 * <p>Each batch reads the chain head inside its own transaction, so a writer that crashed mid-batch (its
 * transaction rolled back) or another replica's writer simply continues from what is committed; a batch that
 * loses a race for the next sequence number (or digest) is retried on the new head.
 */
public final class AuditLog implements AutoCloseable {
    public static final int QUEUE_CAPACITY = 10_000;
    public static final Duration OFFER_WAIT = Duration.ofSeconds(10);
    /** How old a digest must be before it goes to the home anchor while the writer runs. */
    public static final Duration ANCHOR_DELAY = Duration.ofMinutes(1);
    public static final String START = "audit.start";
    public static final String STOP_ACTION = "audit.stop";
    private static final int MAX_BATCH = 500;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(200);
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    /** Tells the writer to finish: it is compared by identity. */
    private static final AuditEvent STOP = new AuditEvent(Instant.EPOCH, "", "", "", "", "", "", "", 0, "", "",
            0, 0, 0, 0, "");

    /**
     * How a writer takes part in the trail beyond appending.
     *
     * @param exclusive whether no other writer can open the database while this one runs (embedded H2): then its
     *     final digest is marked closing
     * @param homeAnchor where to keep the newest durable digest outside the database, if anywhere
     * @param beforeCommit a pause between writing each batch and committing it (tests stop the writer there)
     */
    public record Options(boolean exclusive, Optional<HomeAnchor> homeAnchor, AuditStore.BeforeCommit beforeCommit) {
        public Options {
            requireNonNull(homeAnchor, "homeAnchor is null");
            requireNonNull(beforeCommit, "beforeCommit is null");
        }

        public static Options defaults() {
            return new Options(false, Optional.empty(), written -> {});
        }
    }

    private final AuditStore store;
    private final AuditKey key;
    private final AuditDigest.Cadence cadence;
    private final Clock clock;
    private final Options options;
    private final Sealer sealer;
    private final BlockingQueue<AuditEvent> queue;
    private final Duration offerWait;
    private final Thread writer;
    private final Counter written;
    private final Counter dropped;
    private final Counter digests;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition progress = lock.newCondition();
    private long accepted;
    private long settled;
    /** Set under {@link #lock} when the writer thread ends, normally or not. */
    private boolean writerStopped;
    private volatile boolean closed;
    /** When the oldest record not yet covered by a digest was made (its own time); null when all are covered. */
    private @Nullable Instant oldestUnsigned;
    /** The newest digest this writer made that has not gone to the home anchor yet. */
    private @Nullable AuditDigest unanchored;

    public AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics) {
        this(store, key, config, clock, metrics, Options.defaults());
    }

    /** As above, with a pause between writing and committing each batch (tests stop the writer there). */
    public AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
                    AuditStore.BeforeCommit beforeCommit) {
        this(store, key, config, clock, metrics, new Options(false, Optional.empty(), beforeCommit));
    }

    /**
     * Starts a writer: signs its {@code audit.start} record (and whatever the last run left unsigned) before it
     * returns, so a database that refuses writes fails here.
     */
    public AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
                    Options options) {
        this(store, key, config, clock, metrics, options, QUEUE_CAPACITY, OFFER_WAIT);
    }

    /** As above, with the queue's capacity and how long a caller waits for room (tests fill a small queue). */
    AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
             AuditStore.BeforeCommit beforeCommit, int queueCapacity, Duration offerWait) {
        this(store, key, config, clock, metrics, new Options(false, Optional.empty(), beforeCommit), queueCapacity,
                offerWait);
    }

    private AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
                     Options options, int queueCapacity, Duration offerWait) {
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.offerWait = requireNonNull(offerWait, "offerWait is null");
        this.store = requireNonNull(store, "store is null");
        this.key = requireNonNull(key, "key is null");
        this.cadence = AuditDigest.Cadence.of(requireNonNull(config, "config is null"));
        this.clock = requireNonNull(clock, "clock is null");
        this.options = requireNonNull(options, "options is null");
        this.sealer = new Sealer(key, cadence, clock);
        requireNonNull(metrics, "metrics is null");
        this.written = Counter.builder("factory.audit.records").description("audit records committed")
                .register(metrics);
        this.dropped = Counter.builder("factory.audit.dropped")
                .description("audit events dropped because the queue stayed full; alert on any").register(metrics);
        this.digests = Counter.builder("factory.audit.digests").description("signed audit digests written")
                .register(metrics);
        Gauge.builder("factory.audit.queue", queue, BlockingQueue::size)
                .description("audit events waiting for the writer").register(metrics);
        sealed(store.inChain(chain -> {
            Optional<AuditDigest> last = chain.lastDigest();
            long head = chain.head().map(AuditRecord::seq).orElse(0L);
            long unsignedFrom = last.map(d -> d.lastSeq() + 1).orElse(1L);
            chain.append(List.of(system(START, "writer started; digests " + cadence
                    + (options.exclusive() ? "; sole writer of this database" : "")
                    + (head >= unsignedFrom ? "; records " + unsignedFrom + " to " + head + " had no digest (the "
                    + "last run did not stop cleanly) and are signed now" : ""))));
            return sealer.seal(chain, true, false);
        }));
        written.increment();
        this.writer = Thread.ofPlatform().name("audit-writer").daemon().unstarted(this::run);
        writer.start();
    }

    /** Queues an event for the chain; waits for room up to {@link #OFFER_WAIT}, else drops and counts it. */
    public void record(AuditEvent event) {
        requireNonNull(event, "event is null");
        if (closed) {
            drop(event, "the audit log is closed");
            return;
        }
        lock.lock();
        try {
            accepted++;
        } finally {
            lock.unlock();
        }
        boolean queued;
        try {
            queued = queue.offer(event, offerWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queued = false;
        }
        if (!queued) {
            drop(event, "the audit queue stayed full for " + offerWait);
            settle(1);
        }
    }

    /** Waits until every event recorded before this call is committed (or dropped); false on timeout. */
    public boolean awaitWritten(Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            long target = accepted;
            while (settled < target) {
                if (nanos <= 0 || writerStopped) {
                    return false;
                }
                nanos = progress.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Writes a digest now over every record not yet covered (a clean shutdown does this too). */
    public synchronized Optional<AuditDigest> digestNow() {
        return sealed(store.inChain(chain -> sealer.seal(chain, true, false))).last();
    }

    /** The cadence this writer signs with (and its start record names). */
    public AuditDigest.Cadence cadence() {
        return cadence;
    }

    public AuditKey key() {
        return key;
    }

    public AuditStore store() {
        return store;
    }

    /** Events dropped since start (the queue stayed full). */
    public long droppedCount() {
        return (long) dropped.count();
    }

    private void run() {
        try {
            loop();
        } finally {
            lock.lock();
            try {
                writerStopped = true;
                progress.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void loop() {
        while (true) {
            AuditEvent first;
            try {
                first = queue.poll(nextWake().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (first == STOP) {
                return;
            }
            if (first != null) {
                List<AuditEvent> batch = new ArrayList<>();
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                boolean stop = batch.removeIf(e -> e == STOP);
                append(batch);
                if (stop) {
                    return;
                }
            }
            digestIfDue();
            anchorIfDurable();
        }
    }

    private void append(List<AuditEvent> batch) {
        while (true) {
            try {
                Committed committed = store.inChain(chain -> {
                    List<AuditRecord> appended = chain.append(batch);
                    Sealer.Sealed s = sealer.seal(chain, false, false);
                    options.beforeCommit().run(appended);
                    return new Committed(appended, s);
                });
                sealed(committed.sealed());
                List<AuditRecord> records = committed.records();
                written.increment(records.size());
                settle(records.size());
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    LOG.error("audit: dropping {} events at shutdown: the database refused them", batch.size(), e);
                    dropped.increment(batch.size());
                    settle(batch.size());
                    return;
                }
                LOG.warn("audit: appending {} events failed; retrying: {}", batch.size(), e.getMessage());
                if (!pause()) {
                    return;
                }
            }
        }
    }

    private record Committed(List<AuditRecord> records, Sealer.Sealed sealed) {}

    /** Takes note of what a committed transaction signed. */
    private synchronized Sealer.Sealed sealed(Sealer.Sealed s) {
        digests.increment(s.digests().size());
        oldestUnsigned = s.oldestUnsigned().orElse(null);
        s.last().ifPresent(d -> unanchored = d);
        return s;
    }

    /** Waits a moment before retrying a database write that failed; false if interrupted. */
    private static boolean pause() {
        try {
            Thread.sleep(RETRY_PAUSE);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** How long the writer may wait for an event before a digest or the home anchor is due. */
    private synchronized Duration nextWake() {
        Instant now = clock.instant();
        Instant wake = now.plus(cadence.interval());
        if (oldestUnsigned != null && oldestUnsigned.plus(cadence.interval()).isBefore(wake)) {
            wake = oldestUnsigned.plus(cadence.interval());
        }
        if (unanchored != null && options.homeAnchor().isPresent()
                && unanchored.createdAt().plus(ANCHOR_DELAY).isBefore(wake)) {
            wake = unanchored.createdAt().plus(ANCHOR_DELAY);
        }
        Duration left = Duration.between(now, wake);
        // At least a millisecond: poll(0) would not wait at all, and a clock that stands still would spin.
        return left.toMillis() < 1 ? Duration.ofMillis(1) : left;
    }

    private synchronized void digestIfDue() {
        if (oldestUnsigned == null || clock.instant().isBefore(oldestUnsigned.plus(cadence.interval()))) {
            return;
        }
        try {
            sealed(store.inChain(chain -> sealer.seal(chain, false, false)));
        } catch (RuntimeException e) {
            LOG.warn("audit: writing a digest failed; will retry: {}", e.getMessage());
            pause();
        }
    }

    /** Writes the home anchor once the newest digest is old enough to be on disk whatever happens to the process. */
    private void anchorIfDurable() {
        AuditDigest d;
        synchronized (this) {
            if (unanchored == null || options.homeAnchor().isEmpty()
                    || clock.instant().isBefore(unanchored.createdAt().plus(ANCHOR_DELAY))) {
                return;
            }
            d = unanchored;
            unanchored = null;
        }
        writeAnchor(d);
    }

    private void writeAnchor(AuditDigest d) {
        options.homeAnchor().ifPresent(home -> {
            try {
                home.write(AuditAnchor.of(d));
            } catch (RuntimeException e) {
                LOG.warn("audit: cannot keep the home anchor: {}", e.getMessage());
            }
        });
    }

    private AuditEvent system(String action, String detail) {
        return new AuditEvent(clock.instant(), "system", "factory", "", action, "", AuditEvent.ALLOW,
                AuditEvent.SUCCESS, 0, "factory", "", 0, 0, 0, 0, detail);
    }

    private void drop(AuditEvent event, String why) {
        dropped.increment();
        LOG.error("audit: dropped the record of {} by {} (request {}): {}", event.action(), event.principalId(),
                event.requestId(), why);
    }

    private void settle(long n) {
        lock.lock();
        try {
            settled += n;
            progress.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Commits what is queued, then appends the {@code audit.stop} record with the final digest over everything
     * unsigned, keeps that digest as the home anchor, and stops the writer.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (queue.offer(STOP, 30, TimeUnit.SECONDS)) {
                writer.join(Duration.ofSeconds(30));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            LOG.warn("audit: the writer did not finish within 30s");
            return;
        }
        try {
            Optional<AuditDigest> last;
            synchronized (this) {
                last = sealed(store.inChain(chain -> {
                    chain.append(List.of(system(STOP_ACTION, "writer stopped cleanly")));
                    return sealer.seal(chain, true, options.exclusive());
                })).last();
                unanchored = null;
            }
            written.increment();
            last.ifPresent(this::writeAnchor);
        } catch (RuntimeException e) {
            LOG.warn("audit: no final digest at shutdown: {}", e.getMessage());
        }
    }
}
