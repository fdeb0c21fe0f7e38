package ai.factory.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The far tail of a level's inter-token gaps, pooled over its requests: the 99.9th percentile (interpolated as
 * {@link Percentiles} are), and the stalls, gaps longer than {@value #STALL_FACTOR} times the level's median gap — a
 * stream that stops while another request's prompt is computed, say, rather than one that is slow throughout.
 *
 * @param p999Ms the 99.9th percentile of the gaps
 * @param stallThresholdMs {@value #STALL_FACTOR} × the median gap: a gap longer than this is a stall
 * @param stalls gaps longer than the threshold
 * @param gaps the gaps counted
 */
public record GapTail(double p999Ms, double stallThresholdMs, int stalls, int gaps) {
    /** How many median gaps long a stall at least is. */
    public static final double STALL_FACTOR = 5;

    public GapTail {
        if (gaps < 1 || stalls < 0 || stalls > gaps) {
            throw new IllegalArgumentException("%d stalls among %d gaps".formatted(stalls, gaps));
        }
    }

    /** The tail of {@code gaps}, or null for none. */
    static @Nullable GapTail of(double[] gaps) {
        if (gaps.length == 0) {
            return null;
        }
        double[] sorted = gaps.clone();
        Arrays.sort(sorted);
        double threshold = STALL_FACTOR * Percentiles.percentile(sorted, 50);
        int stalls = (int) Arrays.stream(sorted).filter(gap -> gap > threshold).count();
        return new GapTail(Percentiles.percentile(sorted, 99.9), threshold, stalls, sorted.length);
    }

    /** The share of the gaps that are stalls, 0 to 1. */
    @JsonProperty
    public double stallShare() {
        return (double) stalls / gaps;
    }
}
