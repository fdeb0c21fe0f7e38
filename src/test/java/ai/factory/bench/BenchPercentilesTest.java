package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Linear interpolation between closest ranks, checked against values worked out by hand. */
class BenchPercentilesTest {
    @Test
    void interpolatesBetweenClosestRanks() {
        // Ranks (n-1)p: p50 -> 2 (35), p90 -> 3.6 (40 + 0.6 * 10), p99 -> 3.96 (40 + 0.96 * 10).
        Percentiles p = Percentiles.of(new double[] {50, 15, 40, 35, 20});
        assertThat(p.p50()).isCloseTo(35, within(1e-9));
        assertThat(p.p90()).isCloseTo(46, within(1e-9));
        assertThat(p.p99()).isCloseTo(49.6, within(1e-9));
    }

    @Test
    void interpolatesOneToTen() {
        // Ranks 4.5, 8.1 and 8.91 of 1..10.
        Percentiles p = Percentiles.of(new double[] {10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
        assertThat(p.p50()).isCloseTo(5.5, within(1e-9));
        assertThat(p.p90()).isCloseTo(9.1, within(1e-9));
        assertThat(p.p99()).isCloseTo(9.91, within(1e-9));
    }

    @Test
    void oneValueIsEveryPercentileAndNoValuesIsNone() {
        assertThat(Percentiles.of(new double[] {7})).isEqualTo(new Percentiles(7, 7, 7));
        assertThat(Percentiles.of(new double[0])).isNull();
    }

    @Test
    void extremesAreTheMinimumAndMaximum() {
        double[] sorted = {1, 2, 4, 8};
        assertThat(Percentiles.percentile(sorted, 0)).isEqualTo(1);
        assertThat(Percentiles.percentile(sorted, 100)).isEqualTo(8);
        assertThatThrownBy(() -> Percentiles.percentile(sorted, 101)).isInstanceOf(IllegalArgumentException.class);
    }
}
