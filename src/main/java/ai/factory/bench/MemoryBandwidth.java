package ai.factory.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A probe of the memory bandwidth a process gets, after John McCalpin's STREAM benchmark: three arrays of
 * doubles, each far larger than the caches, in native memory ({@link MemorySegment}), split into one contiguous
 * slice per thread. Each kernel runs {@code repetitions} times and its best time counts, as STREAM reports:
 *
 * <ul>
 *   <li><b>read</b>: the sum of {@code a} (8 bytes an element moved), what decoding a model mostly does with its
 *       weights;</li>
 *   <li><b>copy</b>: {@code c = a} (16 bytes an element: one read, one write);</li>
 *   <li><b>triad</b>: {@code a = b + s × c} (24 bytes an element: two reads, one write).</li>
 * </ul>
 *
 * <p>Bytes are counted as STREAM counts them, without the extra read a cache does before writing a line it does
 * not hold; copy and triad therefore move more than they are credited with, and read is usually the fastest.
 * Written by hand because what is measured must be what this JVM's threads get, on the machine it runs on: a
 * benchmark harness would measure the same loops with more ceremony.
 */
public final class MemoryBandwidth {
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE;
    private static final double SCALAR = 3.0;

    /** Keeps the read kernel's sums alive, so the JIT cannot drop the loop. */
    @SuppressWarnings("unused")
    private static volatile double sink;

    private MemoryBandwidth() {}

    /**
     * What the probe measured, in bytes per second (10^9 of them make a GB/s).
     *
     * @param threads threads that ran each kernel together
     * @param arrayBytes the size of each of the three arrays
     * @param readBytesPerSecond the read kernel's best rate
     * @param copyBytesPerSecond the copy kernel's best rate
     * @param triadBytesPerSecond the triad kernel's best rate
     */
    public record Result(int threads, long arrayBytes, double readBytesPerSecond, double copyBytesPerSecond,
                         double triadBytesPerSecond) {
        public Result {
            if (threads < 1 || arrayBytes < 1) {
                throw new IllegalArgumentException("threads and arrayBytes must be positive: %d, %d".formatted(threads, arrayBytes));
            }
            if (!(readBytesPerSecond > 0 && copyBytesPerSecond > 0 && triadBytesPerSecond > 0)) {
                throw new IllegalArgumentException("rates must be positive: %s, %s, %s".formatted(readBytesPerSecond,
                        copyBytesPerSecond, triadBytesPerSecond));
            }
        }

        /** The highest of the three rates: the most this process showed it can move, an upper bound for the roofline. */
        public double bestBytesPerSecond() {
            return Math.max(readBytesPerSecond, Math.max(copyBytesPerSecond, triadBytesPerSecond));
        }
    }

    /**
     * Measures with {@code threads} threads over three arrays of {@code arrayBytes} each (rounded down to whole
     * doubles, at least one per thread), each kernel {@code repetitions} times.
     */
    public static Result measure(int threads, long arrayBytes, int repetitions) throws InterruptedException {
        if (threads < 1 || repetitions < 1) {
            throw new IllegalArgumentException("threads and repetitions must be at least 1: %d, %d".formatted(threads, repetitions));
        }
        long elements = arrayBytes / Double.BYTES;
        if (elements < threads) {
            throw new IllegalArgumentException("arrays of %d bytes are too small for %d threads".formatted(arrayBytes, threads));
        }
        long bytes = elements * Double.BYTES;
        try (Arena arena = Arena.ofShared();
             ExecutorService pool = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon(true).name("bandwidth-", 0).factory())) {
            MemorySegment a = arena.allocate(bytes, 64);
            MemorySegment b = arena.allocate(bytes, 64);
            MemorySegment c = arena.allocate(bytes, 64);
            // Each thread first touches its own slices, so pages land where that thread runs.
            run(pool, threads, elements, (lo, hi) -> {
                for (long i = lo; i < hi; i++) {
                    a.setAtIndex(DOUBLE, i, 1.0);
                    b.setAtIndex(DOUBLE, i, 2.0);
                    c.setAtIndex(DOUBLE, i, 0.5);
                }
            });
            double read = 0;
            double copy = 0;
            double triad = 0;
            for (int r = 0; r < repetitions; r++) {
                read = Math.max(read, bytes / run(pool, threads, elements, (lo, hi) -> sink = sum(a, lo, hi)));
                copy = Math.max(copy, 2.0 * bytes / run(pool, threads, elements,
                        (lo, hi) -> MemorySegment.copy(a, lo * Double.BYTES, c, lo * Double.BYTES, (hi - lo) * Double.BYTES)));
                triad = Math.max(triad, 3.0 * bytes / run(pool, threads, elements, (lo, hi) -> triad(a, b, c, lo, hi)));
            }
            return new Result(threads, bytes, read, copy, triad);
        }
    }

    private static double sum(MemorySegment a, long lo, long hi) {
        // Four accumulators let the loop run at the speed of loads rather than of one chain of additions.
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        long i = lo;
        for (; i + 3 < hi; i += 4) {
            s0 += a.getAtIndex(DOUBLE, i);
            s1 += a.getAtIndex(DOUBLE, i + 1);
            s2 += a.getAtIndex(DOUBLE, i + 2);
            s3 += a.getAtIndex(DOUBLE, i + 3);
        }
        for (; i < hi; i++) {
            s0 += a.getAtIndex(DOUBLE, i);
        }
        return s0 + s1 + s2 + s3;
    }

    private static void triad(MemorySegment a, MemorySegment b, MemorySegment c, long lo, long hi) {
        for (long i = lo; i < hi; i++) {
            a.setAtIndex(DOUBLE, i, b.getAtIndex(DOUBLE, i) + SCALAR * c.getAtIndex(DOUBLE, i));
        }
    }

    @FunctionalInterface
    private interface Kernel {
        void run(long lo, long hi);
    }

    /** Runs {@code kernel} on every thread's slice at once; the seconds from the start until the last slice is done. */
    private static double run(ExecutorService pool, int threads, long elements, Kernel kernel) throws InterruptedException {
        List<Callable<Void>> tasks = new ArrayList<>(threads);
        for (int t = 0; t < threads; t++) {
            long lo = elements * t / threads;
            long hi = elements * (t + 1) / threads;
            tasks.add(() -> {
                kernel.run(lo, hi);
                return null;
            });
        }
        long start = System.nanoTime();
        List<Future<Void>> done = pool.invokeAll(tasks);
        long nanos = System.nanoTime() - start;
        for (Future<Void> future : done) {
            try {
                future.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("the bandwidth probe failed", e.getCause());
            }
        }
        return Math.max(nanos, 1) / 1e9;
    }
}
