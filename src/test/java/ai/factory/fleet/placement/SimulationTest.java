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
}
