package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * This node's host memory as deployments and fine-tuning jobs share it: a ledger of what each holds, under the
 * site's limit ({@code memory.limit}) if it sets one, and a way for serving to take memory back from work below it.
 *
 * <p>What is free is the lesser of two figures: the machine's free memory ({@code MemAvailable}) less what holders
 * have reserved but not yet allocated (a deployment still loading, a job that has not done its first step: their
 * memory is not yet missing from {@code MemAvailable}, and counting it keeps two of them from taking the same bytes),
 * and the limit less everything held.
 *
 * <p>Work below serving (fine-tuning) registers as a {@link Yielder}: when a deployment does not fit, {@link #makeRoom}
 * asks it to give its memory back (a job checkpoints and goes back to the queue) if that would make enough room.
 */
public final class HostMemory {
    private static final Logger LOG = LoggerFactory.getLogger(HostMemory.class);
    private static final Duration POLL = Duration.ofMillis(50);
    private static final String DEPLOYMENT = "deployment ";
    private static final String TRAINING_JOB = "training job ";

    private final LongSupplier measured;
    private final long limit;
    /** What each holder holds, and whether it has allocated it yet (then MemAvailable shows it); guarded by this. */
    private final Map<String, Held> held = new LinkedHashMap<>();
    private final CopyOnWriteArrayList<Runnable> onRelease = new CopyOnWriteArrayList<>();
    private volatile @Nullable Yielder yielder;

    private record Held(long bytes, boolean allocated) {}

    /**
     * Work below serving that can give its memory back.
     */
    public interface Yielder {
        /** What it holds now and would give back, in bytes (0 when it holds nothing it can give). */
        long yieldableBytes();

        /**
         * Gives its memory back for {@code to} (who asks, for its records), waiting up to {@code timeout} for that
         * to happen; whether it did.
         */
        boolean yieldMemory(String to, Duration timeout) throws InterruptedException;
    }

    /**
     * @param measured the machine's free memory now, in bytes
     * @param limit what the factory may hold at most, or empty for no limit but the machine's
     */
    public HostMemory(LongSupplier measured, OptionalLong limit) {
        this.measured = requireNonNull(measured, "measured is null");
        requireNonNull(limit, "limit is null");
        if (limit.isPresent() && limit.getAsLong() <= 0) {
            throw new IllegalArgumentException("the memory limit must be positive: " + limit.getAsLong());
        }
        this.limit = limit.orElse(Long.MAX_VALUE);
    }

    /** This machine's memory, with the site's limit if it sets one. */
    public static HostMemory forThisMachine(OptionalLong limit) {
        return new HostMemory(HostMemory::availableOnThisMachine, limit);
    }

    /** The limit, or empty when there is none. */
    public OptionalLong limit() {
        return limit == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(limit);
    }

    /** The most that anything can ever hold here: the limit, or the machine's physical memory. */
    public long capacity() {
        return Math.min(limit, totalOnThisMachine());
    }

    /** What is free for a new holder now (see the class comment). */
    public synchronized long free() {
        return freeBesides(null);
    }

    /** What would be free if {@code owner} (when not null) held nothing. */
    private synchronized long freeBesides(@Nullable String owner) {
        long reserved = 0;
        long all = 0;
        for (Map.Entry<String, Held> e : held.entrySet()) {
            if (e.getKey().equals(owner)) {
                continue;
            }
            all += e.getValue().bytes();
            if (!e.getValue().allocated()) {
                reserved += e.getValue().bytes();
            }
        }
        long byMachine = measured.getAsLong() - reserved;
        long byLimit = limit == Long.MAX_VALUE ? Long.MAX_VALUE : limit - all;
        return Math.max(0, Math.min(byMachine, byLimit));
    }

    /** How deployment {@code id} is named as a holder. */
    public static String deployment(String id) {
        return DEPLOYMENT + id;
    }

    /** How fine-tuning job {@code id} is named as a holder. */
    public static String trainingJob(String id) {
        return TRAINING_JOB + id;
    }

    /** What deployments hold together. */
    public long heldByDeployments() {
        return heldByOwnersStartingWith(DEPLOYMENT);
    }

    /** What fine-tuning holds. */
    public long heldByTraining() {
        return heldByOwnersStartingWith(TRAINING_JOB);
    }

    private synchronized long heldByOwnersStartingWith(String prefix) {
        return held.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                .mapToLong(e -> e.getValue().bytes()).sum();
    }

    /** What {@code owner} holds, 0 when nothing. */
    public synchronized long held(String owner) {
        Held h = held.get(owner);
        return h == null ? 0 : h.bytes();
    }

    /**
     * Records that {@code owner} holds {@code bytes} from now on (replacing what it held), not yet allocated, whether
     * or not they are free: for what held them before a restart.
     */
    public synchronized void hold(String owner, long bytes) {
        requireNonNull(owner, "owner is null");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must not be negative: " + bytes);
        }
        held.put(owner, new Held(bytes, false));
    }

    /** Holds {@code bytes} for {@code owner} if they are free now; whether it did. */
    public synchronized boolean tryHold(String owner, long bytes) {
        if (bytes > freeBesides(owner)) {
            return false;
        }
        hold(owner, bytes);
        return true;
    }

    /** {@code owner} has allocated what it holds: from now on the machine's free memory shows it. */
    public synchronized void allocated(String owner) {
        held.computeIfPresent(owner, (k, h) -> new Held(h.bytes(), true));
    }

    /** {@code owner} holds nothing any more; whoever waits for memory is told. Idempotent. */
    public void release(String owner) {
        boolean released;
        synchronized (this) {
            released = held.remove(owner) != null;
        }
        if (released) {
            onRelease.forEach(Runnable::run);
        }
    }

    /** Has {@code listener} run (on the releasing thread) each time a holder releases its memory. */
    public void onRelease(Runnable listener) {
        onRelease.add(requireNonNull(listener, "listener is null"));
    }

    /** Registers the work that gives memory back to serving (one: fine-tuning). */
    public void yieldingWork(Yielder yielder) {
        this.yielder = requireNonNull(yielder, "yielder is null");
    }

    /**
     * Holds {@code bytes} for {@code owner} (serving), asking work below serving to give back what it holds when that
     * alone is missing; nothing is asked of it when even its memory would not be enough. Waits up to {@code timeout}
     * for the work to stop and for its memory to show as free; whether it now holds them (when not, it holds
     * nothing). While it waits, the bytes count as held, so that the work does not start again in between.
     */
    public boolean reserve(String owner, long bytes, String forWhom, Duration timeout) {
        long free;
        synchronized (this) {
            if (tryHold(owner, bytes)) {
                return true;
            }
            free = freeBesides(owner);
        }
        Yielder work = yielder;
        long yieldable = work == null ? 0 : work.yieldableBytes();
        if (work == null || yieldable == 0 || free + yieldable < bytes) {
            return false;
        }
        LOG.info("{} needs {} MiB and {} MiB is free: fine-tuning gives back its {} MiB", forWhom, bytes >> 20,
                free >> 20, yieldable >> 20);
        hold(owner, bytes);
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            if (work.yieldMemory(forWhom, timeout)) {
                // Memory a stopped job freed shows in MemAvailable a moment later.
                while (freeBesides(owner) < bytes && System.nanoTime() < deadline) {
                    Thread.sleep(POLL);
                }
                if (freeBesides(owner) >= bytes) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        release(owner);
        return false;
    }

    /** This machine's free memory: {@code MemAvailable}, else the JVM's view of it. */
    public static long availableOnThisMachine() {
        try {
            return ProcFiles.parseMemInfo(Files.readString(Path.of("/proc/meminfo"))).availableBytes();
        } catch (IOException | FactoryException e) {
            // not Linux, or an unexpected format: use the JVM's view below
        }
        return os().getFreeMemorySize();
    }

    /** This machine's physical memory: {@code MemTotal}, else the JVM's view of it. */
    public static long totalOnThisMachine() {
        try {
            return ProcFiles.parseMemInfo(Files.readString(Path.of("/proc/meminfo"))).totalBytes();
        } catch (IOException | FactoryException e) {
            return os().getTotalMemorySize();
        }
    }

    private static com.sun.management.OperatingSystemMXBean os() {
        return (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    }
}
