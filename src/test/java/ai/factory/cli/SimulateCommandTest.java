package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code factory fleet simulate}, with no server. */
class SimulateCommandTest {
    record Run(int exit, String out, String err) {}

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static ObjectNode jsonWithoutTimings(Run run) throws Exception {
        assertThat(run.exit()).as(run.err()).isZero();
        ObjectNode json = (ObjectNode) Json.mapper().readTree(run.out());
        assertThat(json.path("placementsPerSecond").asLong()).isPositive();
        json.remove("placementsPerSecond");
        json.remove("elapsedMillis");
        return json;
    }

    @Test
    void simulateJsonIsTheSameForTheSameSeed() throws Exception {
        String[] args = {"fleet", "simulate", "--nodes", "300", "--events", "10000", "--seed", "4", "--json"};
        ObjectNode first = jsonWithoutTimings(cli(args));
        assertThat(jsonWithoutTimings(cli(args))).isEqualTo(first);
        assertThat(first.path("nodes").asInt()).isEqualTo(300);
        assertThat(first.path("utilisation").asDouble()).isBetween(0.5, 1.0)
                .isEqualTo(first.path("utilisationAtFirstRejection").asDouble());
        assertThat(first.path("rejected").isIntegralNumber()).isTrue();
        assertThat(first.path("preemptions").isIntegralNumber()).isTrue();
    }

    @Test
    void simulatePrintsATable() {
        Run run = cli("fleet", "simulate", "--nodes", "50", "--events", "2000", "--scoring", "spread");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("METRIC", "placementsPerSecond", "fragmentation", "spread");
    }

    @Test
    void unknownMixOrScoringOrBadSizesAreUsageErrors() {
        assertThat(cli("fleet", "simulate", "--mix", "huge").err()).contains("unknown mix 'huge'");
        assertThat(cli("fleet", "simulate", "--mix", "huge").exit()).isEqualTo(2);
        assertThat(cli("fleet", "simulate", "--scoring", "random").exit()).isEqualTo(2);
        Run zero = cli("fleet", "simulate", "--nodes", "0");
        assertThat(zero.exit()).isEqualTo(2);
        assertThat(zero.err()).contains("nodes and events must be at least 1");
    }

    @Test
    void everyMixRunsFromTheCommandLineAndIsListedInHelp() throws Exception {
        for (String mix : new String[] {"inference-small", "training-large", "mixed-tp"}) {
            String[] args = {"fleet", "simulate", "--nodes", "100", "--events", "3000", "--mix", mix, "--json"};
            ObjectNode first = jsonWithoutTimings(cli(args));
            assertThat(first.path("mix").asText()).isEqualTo(mix);
            assertThat(jsonWithoutTimings(cli(args))).isEqualTo(first);
        }
        assertThat(cli("fleet", "simulate", "--help").out()).contains("inference-small", "training-large", "mixed-tp");
    }
}
