package ai.factory.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code factory models plan NS/MODEL} and {@code GET /api/v1/models/NS/MODEL/plan} on a real factory. */
@ServerTest
class PlanOnServerTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    record Run(int exit, String out, String err) {}

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        assertThat(local("models", "import", TestModels.tinyLlama().toString(), "--name", "acme/planned").exit()).isZero();
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    static Run local(String... args) {
        String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("--home", home.toString()))
                .toArray(String[]::new);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void planOfARegisteredModelComesFromTheServer() throws Exception {
        Run run = local("models", "plan", "acme/planned", "--ctx", "512", "--parallel", "2",
                "--accelerator", "nvidia:80GiB×2", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        JsonNode json = Json.mapper().readTree(run.out());
        assertThat(json.path("model").asText()).isEqualTo("acme/planned:1");
        assertThat(json.path("fit").asText()).isEqualTo("accelerators");
        assertThat(json.path("need").path("contextTokens").asLong()).isEqualTo(1024);
        Run cached = local("models", "plan", "acme/planned", "--ctx", "512", "--parallel", "2", "--prefix-cache", "2",
                "--json");
        assertThat(cached.exit()).as(cached.err()).isZero();
        JsonNode need = Json.mapper().readTree(cached.out()).path("need");
        assertThat(need.path("contextTokens").asLong()).isEqualTo(2048);
        assertThat(need.path("kvCache").asLong()).isEqualTo(2 * json.path("need").path("kvCache").asLong());
        Run table = local("models", "plan", "acme/planned:1");
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(table.out()).contains("MODEL", "acme/planned:1", "host");
    }

    @Test
    void planEndpointRefusesBadParameters() throws Exception {
        HttpResponse<String> r = factory.get("/api/v1/models/acme/planned/plan?cacheType=q3", factory.adminKey());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("unknown cache type 'q3'");
        HttpResponse<String> negative = factory.get("/api/v1/models/acme/planned/plan?prefixCache=-1",
                factory.adminKey());
        assertThat(negative.statusCode()).isEqualTo(400);
        assertThat(negative.body()).contains("prefixCache must be between 0 and 256 sequences, not -1");
        assertThat(factory.get("/api/v1/models/acme/planned/plan?prefixCache=some", factory.adminKey()).statusCode())
                .isEqualTo(400);
        assertThat(factory.get("/api/v1/models/acme/none/plan", factory.adminKey()).statusCode()).isEqualTo(404);
    }
}
