package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.TextEngine;
import ai.factory.storage.BlobStore;
import ai.factory.storage.DataKey;
import ai.factory.storage.MemoryFile;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicas a worker runs, kept in step with its assignments. A new assignment loads on a task of its own: the
 * model's blob is fetched from the control plane as it is stored there (encrypted, into the worker's own blob cache,
 * kept for the next replica of the same model), its data key is fetched over mutual TLS and held in memory only, the
 * blob is decrypted and its digest checked against the assignment's, and the plaintext goes into an anonymous memory
 * file that llama.cpp loads, never onto disk. An assignment that is gone is unloaded, and a blob no assignment uses
 * any more is deleted from the cache.
 */
public final class WorkerReplicas implements ReplicaHost, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerReplicas.class);
    /** How long an ended assignment's calls may go on before its replica is unloaded under them. */
    static final java.time.Duration DRAIN_LIMIT = java.time.Duration.ofMinutes(5);
    /** Told when a replica became ready or failed: the worker reports it at once. */
    private volatile Runnable changed = () -> { };

    /** Where the worker gets a blob and its key: the control plane's cluster endpoint. */
    public interface ModelSource {
        /** Writes the assignment's encrypted blob to {@code target}. */
        void fetchBlob(ReplicaWork work, Path target) throws IOException, InterruptedException;

        /** The data key of the assignment's blob. */
        DataKey fetchKey(ReplicaWork work) throws IOException, InterruptedException;

        /**
         * The blob it fetched for {@code work} did not verify: whether fetching it again may bring a good one from
         * elsewhere (a shared folder's bad copy, after which the control plane's is fetched). False by default.
         */
        default boolean fetchedBadBlob(ReplicaWork work) {
            return false;
        }
    }

    /** Opens the engine of a replica from its decrypted model file (an anonymous memory file's path). */
    @FunctionalInterface
    public interface Loader {
        TextEngine load(ReplicaWork work, Path modelFile);

        /** The replica of {@code work} was unloaded (its engine closed): what it held goes back. */
        default void unloaded(ReplicaWork work) {
        }

        /** The GPUs the replica of {@code work} holds now, which the control plane counts against quotas. */
        default int gpusHeld(ReplicaWork work) {
            return 0;
        }
    }

    private final BlobStore cache;
    private final ModelSource source;
    private final Loader loader;
    private final Duration endingGrace;
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private final ExecutorService loading = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("replica-loader-", 0).factory());

    /** One assignment on this worker. */
    private static final class Running {
        final ReplicaWork work;
        volatile Assignments.Phase phase = Assignments.Phase.LOADING;
        volatile String detail = "";
        volatile @Nullable TextEngine engine;
        volatile boolean removed;
        /** The control plane ended the assignment: it is no longer reported, and is unloaded once drained. */
        volatile boolean ending;

        Running(ReplicaWork work) {
            this.work = work;
        }
    }

    /** @param cacheDir where fetched blobs are kept, encrypted */
    public WorkerReplicas(Path cacheDir, ModelSource source, Loader loader) {
        this(cacheDir, source, loader, Duration.ZERO);
    }

    /**
     * @param cacheDir where fetched blobs are kept, encrypted
     * @param endingGrace how long an ended assignment goes on taking calls (other control-plane replicas may send
     *     some until they see it moved: at their next look, within a heartbeat deadline)
     */
    public WorkerReplicas(Path cacheDir, ModelSource source, Loader loader, Duration endingGrace) {
        this.endingGrace = requireNonNull(endingGrace, "endingGrace is null");
        this.cache = new BlobStore(requireNonNull(cacheDir, "cacheDir is null"));
        this.source = requireNonNull(source, "source is null");
        this.loader = requireNonNull(loader, "loader is null");
    }

    /** Starts loading new assignments and unloads those no longer assigned. */
    @Override
    public synchronized void reconcile(List<ReplicaWork> assigned) {
        Set<String> ids = new HashSet<>();
        for (ReplicaWork work : assigned) {
            ids.add(work.assignment());
            running.computeIfAbsent(work.assignment(), id -> {
                Running r = new Running(work);
                LOG.info("assignment {}: loading replica {} of {} ({})", id, work.replica(), work.model(),
                        work.deployment());
                loading.execute(() -> load(r));
                return r;
            });
        }
        for (Running r : List.copyOf(running.values())) {
            if (!ids.contains(r.work.assignment()) && !r.ending) {
                r.ending = true;
                unloadWhenIdle(r);
            }
        }
        forgetUnusedBlobs();
    }

    private void load(Running r) {
        ReplicaWork work = r.work;
        try {
            awaitDisplaced(work);
            DataKey key = source.fetchKey(work);
            boolean fetched = false;
            if (!cache.exists(work.owner(), work.sha256())) {
                fetch(work);
                fetched = true;
            }
            try {
                cache.verify(work.owner(), work.sha256(), key);
            } catch (FactoryException e) {
                cache.delete(work.owner(), work.sha256());
                if (!fetched || !source.fetchedBadBlob(work)) {
                    throw notVerified(work, e);
                }
                LOG.warn("assignment {}: the blob of {} did not verify ({}); fetching it again", work.assignment(),
                        work.model(), e.getMessage());
                fetch(work);
                try {
                    cache.verify(work.owner(), work.sha256(), key);
                } catch (FactoryException again) {
                    cache.delete(work.owner(), work.sha256());
                    throw notVerified(work, again);
                }
            }
            TextEngine engine;
            try (SeekableByteChannel plaintext = cache.open(work.owner(), work.sha256(), key);
                    MemoryFile weights = MemoryFile.copyOf(plaintext, work.model())) {
                engine = loader.load(work, weights.path());
            }
            synchronized (this) {
                if (r.removed) {
                    engine.close();
                    loader.unloaded(work);
                    return;
                }
                r.engine = engine;
                r.phase = Assignments.Phase.READY;
            }
            LOG.info("assignment {}: replica {} of {} is ready", work.assignment(), work.replica(), work.model());
            changed.run();
        } catch (InterruptedException e) {
            r.phase = Assignments.Phase.FAILED;
            r.detail = "the worker is stopping";
        } catch (Throwable t) {
            r.phase = Assignments.Phase.FAILED;
            r.detail = t instanceof FactoryException ? String.valueOf(t.getMessage())
                    : "unexpected " + t.getClass().getName() + ": " + t.getMessage();
            LOG.warn("assignment {}: replica {} of {} failed to load: {}", work.assignment(), work.replica(),
                    work.model(), r.detail, t instanceof FactoryException ? null : t);
            changed.run();
        }
    }

    /**
     * Waits until the replicas this one was given room by ({@link ReplicaWork#displaces()}: ended for it, of lower
     * priority) are unloaded, so that their memory and GPUs are free when it loads: each ends once its calls have
     * finished, within {@code endingGrace} plus {@link #DRAIN_LIMIT}.
     */
    private void awaitDisplaced(ReplicaWork work) throws InterruptedException {
        long end = System.nanoTime() + endingGrace.plus(DRAIN_LIMIT).plusSeconds(5).toNanos();
        boolean told = false;
        while (work.displaces().stream().anyMatch(running::containsKey) && System.nanoTime() < end) {
            if (!told) {
                LOG.info("assignment {}: replica {} of {} loads once the replicas ended for it have unloaded: {}",
                        work.assignment(), work.replica(), work.model(), work.displaces());
                told = true;
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void onChange(Runnable listener) {
        this.changed = requireNonNull(listener, "listener is null");
    }

    private static FactoryException notVerified(ReplicaWork work, FactoryException e) {
        return new FactoryException(ErrorCode.INVALID_REQUEST, "the model blob of " + work.model()
                + " did not verify on this worker (" + e.getMessage() + "); it was deleted from the cache");
    }

    /** Fetches the encrypted blob into the cache: into a temporary file, then moved into place whole. */
    private void fetch(ReplicaWork work) throws IOException, InterruptedException {
        Path target = cache.path(work.owner(), work.sha256());
        Files.createDirectories(target.getParent());
        Path partial = Files.createTempFile(cache.root().resolve("tmp"), "fetch-", ".part");
        try {
            source.fetchBlob(work, partial);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    /**
     * An ended assignment is no longer reported, but takes calls for {@code endingGrace} more (other control-plane
     * replicas send it some until they see it moved); then, once the calls it serves have finished (up to
     * {@link #DRAIN_LIMIT}), it is unloaded and its model forgotten if no other replica here uses it.
     */
    private void unloadWhenIdle(Running r) {
        Thread.ofVirtual().name("replica-unload-" + r.work.assignment()).start(() -> {
            long start = System.nanoTime();
            long end = start + DRAIN_LIMIT.toNanos();
            try {
                while (System.nanoTime() < end) {
                    TextEngine engine = r.engine;
                    ai.factory.engine.EngineLoad load = engine == null ? null : engine.load();
                    boolean idle = load == null || load.active() + load.waiting() == 0;
                    if (idle && System.nanoTime() - start >= endingGrace.toNanos()) {
                        break;
                    }
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            unload(r); // before it leaves running, which a replica waiting for it to unload watches
            running.remove(r.work.assignment(), r);
            forgetUnusedBlobs();
            LOG.info("assignment {} ended: replica {} of {} unloaded", r.work.assignment(), r.work.replica(),
                    r.work.model());
        });
    }

    private synchronized void unload(Running r) {
        r.removed = true;
        TextEngine engine = r.engine;
        r.engine = null;
        if (engine != null) {
            try {
                engine.close();
            } catch (RuntimeException e) {
                LOG.warn("closing replica {} failed", r.work.assignment(), e);
            }
            loader.unloaded(r.work);
        }
    }

    /** Deletes cached blobs that no assignment on this worker uses. */
    private synchronized void forgetUnusedBlobs() {
        Set<String> used = new HashSet<>();
        running.values().forEach(r -> used.add(r.work.owner() + "/" + r.work.sha256()));
        for (BlobStore.StoredFile f : cache.storedFiles()) {
            if (!used.contains(f.owner() + "/" + f.sha256())) {
                cache.delete(f.owner(), f.sha256());
                LOG.info("deleted cached blob {} of {}: no replica here uses it", f.sha256(), f.owner());
            }
        }
    }

    /**
     * Replicas that may use GPUs and are still loading: they may not hold their GPUs yet (the model is still being
     * fetched and decrypted), so the GPUs reported free leave room for them.
     */
    public int loadingOnGpus() {
        return (int) running.values().stream().filter(r -> !r.ending && r.engine == null
                && r.phase == Assignments.Phase.LOADING && r.work.usesGpus()).count();
    }

    /** Whether this worker runs no replica at all, ended ones still draining included. */
    public boolean isEmpty() {
        return running.isEmpty();
    }

    /** How each replica stands, for the next heartbeat. */
    @Override
    public List<Assignments.Reported> reports() {
        List<Assignments.Reported> out = new ArrayList<>();
        for (Running r : running.values()) {
            if (r.ending) {
                continue;
            }
            TextEngine engine = r.engine;
            out.add(new Assignments.Reported(r.work.assignment(), r.phase, r.detail,
                    engine == null ? null : engine.info(), loader.gpusHeld(r.work)));
        }
        return out;
    }

    @Override
    public Map<String, ai.factory.engine.EngineLoad> loads() {
        Map<String, ai.factory.engine.EngineLoad> out = new java.util.TreeMap<>();
        for (Running r : running.values()) {
            TextEngine engine = r.engine;
            if (!r.ending && engine != null) {
                out.put(r.work.assignment(), engine.load());
            }
        }
        return out;
    }

    /**
     * The engine of a ready replica; UNAVAILABLE for an assignment this worker does not run (it restarted and has
     * not loaded it again yet, or the assignment ended), while it loads, and after it failed.
     */
    public TextEngine engine(String assignment) {
        Running r = running.get(assignment);
        if (r == null) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "this worker runs no replica '" + assignment + "' now");
        }
        TextEngine engine = r.engine;
        if (engine == null) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "replica '" + assignment + "' of " + r.work.model()
                    + " is " + (r.phase == Assignments.Phase.FAILED ? "failed: " + r.detail : "loading"));
        }
        return engine;
    }

    /** Deletes every cached blob: the node was removed from the cluster, and its models with it. */
    public synchronized void forgetAll() {
        running.values().forEach(this::unload);
        running.clear();
        forgetUnusedBlobs();
    }

    /** Unloads every replica; the cached blobs stay for the next start. */
    @Override
    public synchronized void close() {
        loading.shutdownNow();
        try {
            loading.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        running.values().forEach(this::unload);
        running.clear();
    }
}
