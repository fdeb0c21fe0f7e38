package ai.factory.bench;

import org.jspecify.annotations.Nullable;

import java.util.Arrays;

/**
 * The 50th, 90th and 99th percentiles of a sample, by linear interpolation between closest ranks
 * (NumPy's default, {@code method="linear"}): for a sample sorted ascending as x[0..n-1], the p-th
 * percentile lies at rank {@code h = (n - 1) * p / 100} and is {@code x[floor(h)] + (h - floor(h)) *
 * (x[floor(h) + 1] - x[floor(h)])}. A one-value sample has that value at every percentile.
 */
public record Percentiles(double p50, double p90, double p99) {
    public Percentiles {
        if (!(p50 <= p90 && p90 <= p99)) {
            throw new IllegalArgumentException("percentiles are not ordered: p50 %s, p90 %s, p99 %s".formatted(p50, p90, p99));
        }
    }

    /** The percentiles of {@code values}, or null for an empty sample. */
    public static @Nullable Percentiles of(double[] values) {
        if (values.length == 0) {
            return null;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return new Percentiles(percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99));
    }

    /** The {@code p}-th percentile (0 to 100) of {@code sorted}, which is sorted ascending and not empty. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("p must be between 0 and 100: " + p);
        }
        double rank = (sorted.length - 1) * p / 100;
        int low = (int) Math.floor(rank);
        int high = Math.min(low + 1, sorted.length - 1);
        return sorted[low] + (rank - low) * (sorted[high] - sorted[low]);
    }
}
