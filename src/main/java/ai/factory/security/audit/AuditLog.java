package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.config.AuditConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
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
 * bounded queue and go on; the writer takes whatever has queued up and commits it as one transaction, then writes
 * a signed digest when {@code audit.digestEvery} records or {@code audit.digestInterval} have passed since the
 * last one.
 *
 * <p>Backpressure: when the queue is full (the database is slower than the traffic, or down), {@link #record}
 * waits up to {@link #OFFER_WAIT} for room, so the callers slow down with the trail rather than outrun it. An
 * event that still finds no room is dropped, logged at ERROR and counted in {@code factory_audit_dropped_total},
 * which an operator should alert on. A request never waits for a database commit: the HTTP hook records an event
 * only once its response is complete.
 *
 * <p>Each batch reads the chain head inside its own transaction, so a writer that crashed mid-batch (its
 * transaction rolled back) or another replica's writer simply continues from what is committed; a batch that
 * loses a race for the next sequence number is retried on the new head.
 */
public final class AuditLog implements AutoCloseable {
    public static final int QUEUE_CAPACITY = 10_000;
    public static final Duration OFFER_WAIT = Duration.ofSeconds(10);
    private static final int MAX_BATCH = 500;
    private static final Duration RETRY_PAUSE = Duration.ofMillis(200);
    private static final System.Logger LOG = System.getLogger(AuditLog.class.getName());
    /** Tells the writer to finish: it is compared by identity. */
    private static final AuditEvent STOP = new AuditEvent(Instant.EPOCH, "", "", "", "", "", "", "", 0, "", "",
            0, 0, 0, 0, "");

    private final AuditStore store;
    private final AuditKey key;
    private final AuditConfig config;
    private final Clock clock;
    private final AuditStore.BeforeCommit beforeCommit;
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
    /** When the oldest record not yet covered by a digest was made; null when all are covered. */
    private Instant pendingSince;

    public AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics) {
        this(store, key, config, clock, metrics, written -> {});
    }

    /** As above, with a pause between writing and committing each batch (tests stop the writer there). */
    public AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
                    AuditStore.BeforeCommit beforeCommit) {
        this(store, key, config, clock, metrics, beforeCommit, QUEUE_CAPACITY, OFFER_WAIT);
    }

    /** As above, with the queue's capacity and how long a caller waits for room (tests fill a small queue). */
    AuditLog(AuditStore store, AuditKey key, AuditConfig config, Clock clock, MeterRegistry metrics,
             AuditStore.BeforeCommit beforeCommit, int queueCapacity, Duration offerWait) {
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.offerWait = requireNonNull(offerWait, "offerWait is null");
        this.store = requireNonNull(store, "store is null");
        this.key = requireNonNull(key, "key is null");
        this.config = requireNonNull(config, "config is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.beforeCommit = requireNonNull(beforeCommit, "beforeCommit is null");
        requireNonNull(metrics, "metrics is null");
        this.written = Counter.builder("factory.audit.records").description("audit records committed")
                .register(metrics);
        this.dropped = Counter.builder("factory.audit.dropped")
                .description("audit events dropped because the queue stayed full; alert on any").register(metrics);
        this.digests = Counter.builder("factory.audit.digests").description("signed audit digests written")
                .register(metrics);
        Gauge.builder("factory.audit.queue", queue, BlockingQueue::size)
                .description("audit events waiting for the writer").register(metrics);
        this.pendingSince = oldestUndigested().orElse(null);
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
        Optional<AuditDigest> last = Optional.empty();
        while (true) {
            Optional<AuditDigest> d = digestNext(1);
            if (d.isEmpty()) {
                return last;
            }
            last = d;
        }
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
                first = queue.poll(waitForDigest().toMillis(), TimeUnit.MILLISECONDS);
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
        }
    }

    private void append(List<AuditEvent> batch) {
        while (true) {
            try {
                List<AuditRecord> records = store.append(batch, beforeCommit);
                written.increment(records.size());
                synchronized (this) {
                    if (pendingSince == null) {
                        pendingSince = clock.instant();
                    }
                }
                settle(records.size());
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    LOG.log(System.Logger.Level.ERROR, "audit: dropping " + batch.size()
                            + " events at shutdown: the database refused them", e);
                    dropped.increment(batch.size());
                    settle(batch.size());
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "audit: appending " + batch.size()
                        + " events failed; retrying: " + e.getMessage());
                if (!pause()) {
                    return;
                }
            }
        }
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

    private synchronized Duration waitForDigest() {
        if (pendingSince == null) {
            return config.digestInterval();
        }
        Duration left = Duration.between(clock.instant(), pendingSince.plus(config.digestInterval()));
        return left.isNegative() ? Duration.ZERO : left;
    }

    private synchronized void digestIfDue() {
        try {
            while (true) {
                boolean timeDue = pendingSince != null
                        && !clock.instant().isBefore(pendingSince.plus(config.digestInterval()));
                if (digestNext(timeDue ? 1 : config.digestEvery()).isEmpty()) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "audit: writing a digest failed; will retry: " + e.getMessage());
            pause();
        }
    }

    /**
     * Signs a digest over the next {@code config.digestEvery} uncovered records (fewer if that is all there are),
     * when at least {@code minimum} are uncovered; empty when it wrote none.
     */
    private synchronized Optional<AuditDigest> digestNext(long minimum) {
        Optional<AuditRecord> head = store.head();
        if (head.isEmpty()) {
            pendingSince = null;
            return Optional.empty();
        }
        long from = store.lastDigest().map(d -> d.lastSeq() + 1).orElse(1L);
        long uncovered = head.get().seq() - from + 1;
        if (uncovered <= 0 || uncovered < minimum) {
            if (uncovered <= 0) {
                pendingSince = null;
            }
            return Optional.empty();
        }
        long to = from + Math.min(uncovered, config.digestEvery()) - 1;
        AuditRecord first = store.record(from).orElseThrow(() -> new IllegalStateException(
                "audit record " + from + " is missing; run 'factory audit verify'"));
        AuditRecord last = to == head.get().seq() ? head.get() : store.record(to).orElseThrow(() ->
                new IllegalStateException("audit record " + to + " is missing; run 'factory audit verify'"));
        AuditDigest digest = key.sign(new AuditDigest(from, to, to - from + 1, first.event().at(), last.event().at(),
                last.hash(), clock.instant(), key.keyId(), ""));
        store.insertDigest(digest);
        digests.increment();
        // Records left over were committed recently; the interval runs for them from now.
        pendingSince = to == head.get().seq() ? null : clock.instant();
        return Optional.of(digest);
    }

    private Optional<Instant> oldestUndigested() {
        long from = store.lastDigest().map(d -> d.lastSeq() + 1).orElse(1L);
        return store.record(from).map(r -> r.event().at());
    }

    private void drop(AuditEvent event, String why) {
        dropped.increment();
        LOG.log(System.Logger.Level.ERROR, "audit: dropped the record of " + event.action() + " by "
                + event.principalId() + " (request " + event.requestId() + "): " + why);
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

    /** Commits what is queued, writes a final digest, and stops the writer. */
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
            LOG.log(System.Logger.Level.WARNING, "audit: the writer did not finish within 30s");
            return;
        }
        try {
            digestNow();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "audit: no final digest at shutdown: " + e.getMessage());
        }
    }
}
