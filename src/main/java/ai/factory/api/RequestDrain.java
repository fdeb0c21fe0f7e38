package ai.factory.api;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tracks in-flight requests so shutdown can stop taking new work and wait for what is running.
 * Once draining, new requests (other than health probes) are refused with 503 and readiness fails.
 */
final class RequestDrain {
    private static final String COUNTED = "factory.drain.counted";

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int inFlight;
    private boolean draining;

    void enter(Context ctx) {
        if (ApiFamily.of(ctx) == ApiFamily.PUBLIC) {
            return;
        }
        lock.lock();
        try {
            if (draining) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "the factory is shutting down; retry on another node");
            }
            inFlight++;
            ctx.attribute(COUNTED, Boolean.TRUE);
        } finally {
            lock.unlock();
        }
    }

    void leave(Context ctx) {
        if (ctx.attribute(COUNTED) == null) {
            return;
        }
        ctx.attribute(COUNTED, null);
        lock.lock();
        try {
            if (--inFlight == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Requests being handled now (health probes and metrics aside). */
    int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    boolean draining() {
        lock.lock();
        try {
            return draining;
        } finally {
            lock.unlock();
        }
    }

    /** Starts draining and waits up to {@code grace} for in-flight requests; returns how many were left. */
    int drain(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            draining = true;
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !idle.await(left, TimeUnit.NANOSECONDS) && System.nanoTime() >= deadline) {
                    break;
                }
            }
            return inFlight;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return inFlight;
        } finally {
            lock.unlock();
        }
    }
}
