package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code factory models plan FILE.gguf}, with no server. */
class PlanCommandTest {
    record Run(int exit, String out, String err) {}

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static String tiny() {
        return TestModels.tinyLlama().toString();
    }

    @Test
    void planPrintsTheBreakdownAndWhereItFits() {
        Run run = cli("models", "plan", tiny(), "--ctx", "1024", "--parallel", "4", "--ram", "4");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("PART", "KV cache (4096 tokens, f16)", "compute buffer", "fits in host memory");
    }

    @Test
    void aPrefixCacheAddsASlotsKvCachePerSequence() {
        Run run = cli("models", "plan", tiny(), "--ctx", "1024", "--parallel", "4", "--prefix-cache", "4", "--ram", "4");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("KV cache (8192 tokens, f16)");
        Run negative = cli("models", "plan", tiny(), "--prefix-cache", "-1");
        assertThat(negative.exit()).isEqualTo(2);
        assertThat(negative.err()).contains("--prefix-cache must be between 0 and 256, not -1");
    }

    @Test
    void planJsonOnAcceleratorsSaysHowManyDevices() throws Exception {
        Run run = cli("models", "plan", tiny(), "--accelerator", "nvidia:80GiB×8", "--ram", "4", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        JsonNode json = Json.mapper().readTree(run.out());
        assertThat(json.path("fit").asText()).isEqualTo("accelerators");
        assertThat(json.path("devices").asInt()).isEqualTo(1);
        assertThat(json.path("need").path("cacheType").asText()).isEqualTo("f16");
    }

    @Test
    void planSaysDoesNotFitWithTheNumbers() {
        Run run = cli("models", "plan", tiny(), "--ctx", "100000", "--parallel", "64", "--ram", "0.01");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("does not fit", "KV cache", "MiB", "free");
    }

    @Test
    void unknownCacheTypeIsAUsageError() {
        Run run = cli("models", "plan", tiny(), "--cache-type", "q3_k");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("unknown cache type 'q3_k'");
    }

    @Test
    void badAcceleratorSpecIsAUsageError() {
        Run run = cli("models", "plan", tiny(), "--accelerator", "nvidia-80");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("bad accelerator spec 'nvidia-80'");
    }
}
