package ai.factory.engine.llama;

import ai.factory.engine.Priority;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The generations waiting for a slot, bounded, in two classes: interactive ones are taken first, in the order they
 * came, and batch ones after them. Two rules keep both served:
 *
 * <ul>
 *   <li>a batch generation never takes a replica's last free slot (with two slots or more), so an interactive one
 *       that arrives while batch work fills the others finds a slot at the next step;
 *   <li>a batch generation passed over {@link #AGING} times by interactive ones is taken next, whatever waits,
 *       and may take the last slot: batch work slows under interactive load but is never starved.
 * </ul>
 *
 * Batch generations that run are not stopped for interactive ones (no preemption): an interactive call waits at
 * most for a step while a slot is free, and otherwise for the first generation to end.
 */
final class WaitingQueue {
    /** How many interactive generations may pass the oldest waiting batch generation before it goes first. */
    static final int AGING = 8;

    private final int capacity;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final ArrayDeque<LlamaGeneration> interactive = new ArrayDeque<>(); // guarded by lock
    private final ArrayDeque<LlamaGeneration> batch = new ArrayDeque<>(); // guarded by lock
    private int passedOver; // guarded by lock: interactive takes while the oldest batch generation waited

    WaitingQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.capacity = capacity;
    }

    int size() {
        lock.lock();
        try {
            return interactive.size() + batch.size();
        } finally {
            lock.unlock();
        }
    }

    int remainingCapacity() {
        return capacity - size();
    }

    /** Adds generations the caller checked there is room for (under its own admission lock). */
    void addAll(Collection<LlamaGeneration> generations) {
        lock.lock();
        try {
            if (size() + generations.size() > capacity) {
                throw new IllegalStateException("the queue holds at most " + capacity);
            }
            for (LlamaGeneration g : generations) {
                (g.request().priority() == Priority.BATCH ? batch : interactive).add(g);
            }
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for a generation while every slot is free: any class may take one. */
    LlamaGeneration take() throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (interactive.isEmpty() && batch.isEmpty()) {
                notEmpty.await();
            }
            return java.util.Objects.requireNonNull(next(true), "a generation waits and any may take the slot");
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next generation for a free slot, or null when none may take it.
     *
     * @param lastSlot whether the slot is the replica's last free one (of two or more), which batch generations
     *     take only once aged
     */
    @Nullable LlamaGeneration poll(boolean lastSlot) {
        lock.lock();
        try {
            if (interactive.isEmpty() && batch.isEmpty()) {
                return null;
            }
            return next(!lastSlot);
        } finally {
            lock.unlock();
        }
    }

    /** Under lock, with something waiting. */
    private @Nullable LlamaGeneration next(boolean batchMayTake) {
        boolean aged = !batch.isEmpty() && passedOver >= AGING;
        if (!batch.isEmpty() && (aged || interactive.isEmpty()) && (batchMayTake || aged)) {
            passedOver = 0;
            return batch.poll();
        }
        if (interactive.isEmpty()) {
            return null;
        }
        if (!batch.isEmpty()) {
            passedOver++;
        }
        return interactive.poll();
    }

    boolean remove(LlamaGeneration generation) {
        lock.lock();
        try {
            boolean removed = interactive.remove(generation);
            if (!removed && batch.peek() == generation) {
                passedOver = 0; // the next batch generation starts its own wait
            }
            return removed || batch.remove(generation);
        } finally {
            lock.unlock();
        }
    }

    void drainTo(List<LlamaGeneration> into) {
        lock.lock();
        try {
            into.addAll(interactive);
            into.addAll(batch);
            interactive.clear();
            batch.clear();
            passedOver = 0;
        } finally {
            lock.unlock();
        }
    }
}
