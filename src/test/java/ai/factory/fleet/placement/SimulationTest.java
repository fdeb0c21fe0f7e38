package ai.factory.fleet.placement;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.fleet.placement.FleetSimulator.Mix;
import ai.factory.fleet.placement.FleetSimulator.Options;
import ai.factory.fleet.placement.FleetSimulator.Report;
import ai.factory.fleet.placement.PlacementEngine.Scoring;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SimulationTest {
    private static Map<String, Object> withoutTimings(Report report) {
        Map<String, Object> m = new java.util.LinkedHashMap<>(report.toMap());
        m.remove("placementsPerSecond");
        m.remove("elapsedMillis");
        return m;
    }

    @Test
    void theSameSeedGivesTheSameReport() {
        Options options = new Options(500, 8, Mix.STANDARD, 7, 20_000, Scoring.BIN_PACK);
        assertThat(withoutTimings(FleetSimulator.run(options))).isEqualTo(withoutTimings(FleetSimulator.run(options)));
    }

    @Test
    void anotherSeedGivesAnotherStream() {
        Report a = FleetSimulator.run(new Options(500, 8, Mix.STANDARD, 1, 20_000, Scoring.BIN_PACK));
        Report b = FleetSimulator.run(new Options(500, 8, Mix.STANDARD, 2, 20_000, Scoring.BIN_PACK));
        assertThat(withoutTimings(a)).isNotEqualTo(withoutTimings(b));
    }

    @Test
    void aFullFleetRejectsPreemptsAndStaysConsistent() {
        Report r = FleetSimulator.run(new Options(200, 8, Mix.STANDARD, 3, 30_000, Scoring.BIN_PACK));
        assertThat(r.rejectedCapacity()).isPositive();
        assertThat(r.preemptions()).isPositive();
        assertThat(r.utilisationAtFirstRejection()).isBetween(0.5, 1.0);
        assertThat(r.finalUtilisation()).isBetween(0.0, 1.0);
        assertThat(r.fragmentation()).isBetween(0.0, 1.0);
        assertThat(r.decisions()).isEqualTo(r.placed() + r.rejected());
    }

    @Test
    void binPackingLeavesLessFragmentationThanSpreading() {
        Report pack = FleetSimulator.run(new Options(200, 8, Mix.STANDARD, 5, 4_000, Scoring.BIN_PACK));
        Report spread = FleetSimulator.run(new Options(200, 8, Mix.STANDARD, 5, 4_000, Scoring.SPREAD));
        assertThat(pack.fragmentation()).isLessThan(spread.fragmentation());
    }

    @Test
    void everyMixIsDeterministicAndDiffersFromTheOthers() {
        java.util.Set<Map<String, Object>> seen = new java.util.HashSet<>();
        for (Mix mix : Mix.values()) {
            Options options = new Options(300, 8, mix, 9, 15_000, Scoring.BIN_PACK);
            Report first = FleetSimulator.run(options);
            assertThat(withoutTimings(first)).as(mix.id()).isEqualTo(withoutTimings(FleetSimulator.run(options)));
            assertThat(first.placed()).as(mix.id()).isPositive();
            assertThat(first.toMap().get("mix")).isEqualTo(mix.id());
            Map<String, Object> body = withoutTimings(first);
            body.remove("mix");
            assertThat(seen.add(body)).as(mix.id()).isTrue();
        }
    }

    @Test
    void mixedTensorParallelRunsIntoDomainLimitsThatPlainCountsWouldNotSee() {
        Report r = FleetSimulator.run(new Options(100, 8, Mix.MIXED_TP, 2, 20_000, Scoring.BIN_PACK));
        assertThat(r.rejectedCapacity()).isPositive();
        assertThat(r.decisions()).isEqualTo(r.placed() + r.rejected());
        // The mix sizes tensor-parallel replicas to the domains, so even 1-device nodes get nothing unsatisfiable.
        Report single = FleetSimulator.run(new Options(50, 1, Mix.MIXED_TP, 2, 2_000, Scoring.BIN_PACK));
        assertThat(single.rejectedUnsatisfiable()).isZero();
    }

    @Test
    void mixNamesParseWithHyphensAndTheErrorListsThem() {
        assertThat(Mix.parse("training-large")).isEqualTo(Mix.TRAINING_LARGE);
        assertThat(Mix.parse("MIXED_TP")).isEqualTo(Mix.MIXED_TP);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Mix.parse("huge"))
                .hasMessageContaining("standard, inference-small, training-large, mixed-tp");
    }
}
