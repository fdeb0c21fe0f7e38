package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage rollups on a running factory: they match the audit trail's own sums, survive a restart without counting a
 * call twice, break down by key and priority class, export as CSV, and are priced at the site's rates; bad requests
 * are refused naming their parameter; {@code factory usage} and {@code usage chargeback} print them.
 */
@ServerTest
class UsageExportApiTest {
    private static final String MODEL = "acme/usage-tiny";

    @TempDir
    static Path home;
    static TestFactory factory;

    @BeforeAll
    static void start() {
        Path model = TestModels.tinyLlama();
        factory = TestFactory.start(home, Map.of());
        factory.deployGguf(MODEL, model, "\"parallel\": 2, \"context\": 512");
        factory.projectWithModel("lab", model);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static void chat(String key, String model, String extra) {
        HttpResponse<String> r = factory.post("/v1/chat/completions", key, "{\"model\": \"" + model + "\", "
                + "\"max_tokens\": 3, " + extra + "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    /** {project model → requests, errors, prompt, completion} from the rollups. */
    private static Map<String, List<Long>> rollups() {
        Map<String, List<Long>> out = new HashMap<>();
        for (JsonNode r : json(factory.get("/api/v1/usage/export?by=project,model", factory.adminKey())).path("rows")) {
            out.put(r.path("project").asText() + " " + r.path("model").asText(), List.of(r.path("requests").asLong(),
                    r.path("errors").asLong(), r.path("promptTokens").asLong(), r.path("completionTokens").asLong()));
        }
        return out;
    }

    /** The same from the audit trail itself ({@code GET /api/v1/usage}). */
    private static Map<String, List<Long>> auditTrail() {
        Map<String, List<Long>> out = new HashMap<>();
        for (JsonNode u : json(factory.get("/api/v1/usage", factory.adminKey())).path("usage")) {
            out.put(u.path("project").asText() + " " + u.path("model").asText(), List.of(u.path("requests").asLong(),
                    u.path("failed").asLong(), u.path("promptTokens").asLong(), u.path("completionTokens").asLong()));
        }
        return out;
    }

    @Test
    void rollupsMatchTheAuditTrailSurviveARestartAndArePricedAtTheSitesRates() throws Exception {
        String batchKey = factory.createKey("usage-batch", "default", "invoker");
        String labAdmin = factory.createKey("usage-lab-admin", "lab", "project-admin");
        chat(factory.adminKey(), MODEL, "");
        chat(factory.adminKey(), MODEL, "");
        chat(batchKey, MODEL, "\"service_tier\": \"flex\", ");
        chat(labAdmin, "lab/tiny", "");
        HttpResponse<String> refused = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \""
                + MODEL + "\", \"max_tokens\": 100000, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(refused.statusCode()).isEqualTo(400);

        Map<String, List<Long>> rolled = rollups();
        assertThat(rolled).isEqualTo(auditTrail());
        assertThat(rolled.get("default " + MODEL).getFirst()).isEqualTo(4);
        JsonNode byPriority = json(factory.get("/api/v1/usage/export?by=priority&project=default",
                factory.adminKey())).path("rows");
        assertThat(byPriority.findValues("priority")).extracting(JsonNode::asText).contains("batch", "interactive");
        // A project admin reads its own project's usage only, summed as asked.
        JsonNode lab = json(factory.get("/api/v1/usage/export?by=model", labAdmin));
        assertThat(lab.path("rows")).hasSize(1);
        assertThat(lab.path("rows").get(0).path("model").asText()).isEqualTo("lab/tiny");

        HttpResponse<String> csv = factory.get("/api/v1/usage/export?by=project,model&period=day&format=csv",
                factory.adminKey());
        assertThat(csv.statusCode()).isEqualTo(200);
        assertThat(csv.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/csv");
        assertThat(csv.body().lines().toList().getFirst()).isEqualTo("start,project,model,requests,errors,"
                + "promptTokens,completionTokens,replicaSeconds,acceleratorSeconds");
        assertThat(csv.body()).contains(",default," + MODEL + ",4,1,");

        factory.close();
        factory = TestFactory.start(home, Map.of());
        assertThat(rollups()).as("after a restart, nothing counted twice").isEqualTo(rolled);

        HttpResponse<String> rates = factory.send(factory.request("/api/v1/usage/rates", factory.adminKey())
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"currency\": \"EUR\", \"models\": {\"" + MODEL + "\": {\"inputPerMillion\": 1000000, "
                                + "\"outputPerMillion\": 0}}, \"default\": {\"inputPerMillion\": 0, "
                                + "\"outputPerMillion\": 1000000}, \"replicaHour\": 0, \"acceleratorHour\": 3}")));
        assertThat(rates.statusCode()).as(rates.body()).isEqualTo(200);
        JsonNode report = json(factory.get("/api/v1/usage/chargeback", factory.adminKey()));
        assertThat(report.path("currency").asText()).isEqualTo("EUR");
        long defaultPrompt = rolled.get("default " + MODEL).get(2);
        long labCompletion = rolled.get("lab lab/tiny").get(3);
        for (JsonNode p : report.path("projects")) {
            // One currency unit per token: the model's prompt tokens in default, the other model's output in lab.
            assertThat(p.path("total").decimalValue().longValue()).as(p.toString())
                    .isEqualTo(p.path("project").asText().equals("default") ? defaultPrompt : labCompletion);
        }
        assertThat(json(factory.get("/api/v1/usage/chargeback", labAdmin)).path("projects")).hasSize(1);
        assertThat(factory.get("/api/v1/usage/chargeback?format=csv", factory.adminKey()).body())
                .startsWith("project,model,requests,").contains("EUR");

        for (String bad : List.of("export?by=colour", "export?period=week", "export?format=xml",
                "export?from=2026-12-06&to=2026-12-01", "export?unknown=1", "chargeback?format=pdf")) {
            HttpResponse<String> answer = factory.get("/api/v1/usage/" + bad, factory.adminKey());
            assertThat(answer.statusCode()).as(bad + " → " + answer.body()).isEqualTo(400);
            assertThat(json(answer).path("error").path("message").asText()).isNotBlank();
        }
        HttpResponse<String> negative = factory.send(factory.request("/api/v1/usage/rates", factory.adminKey())
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"currency\": \"EUR\", \"acceleratorHour\": -1}")));
        assertThat(negative.statusCode()).isEqualTo(400);
        assertThat(json(negative).path("error").path("param").asText()).isEqualTo("acceleratorHour");
        HttpResponse<String> notAdmin = factory.send(factory.request("/api/v1/usage/rates", labAdmin)
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"currency\": \"EUR\"}")));
        assertThat(notAdmin.statusCode()).isEqualTo(403);
        assertThat(json(factory.get("/api/v1/usage/rates", factory.adminKey())).path("acceleratorHour").asInt())
                .as("the refused changes left the rates as they were").isEqualTo(3);

        String[] client = {"--url", factory.url(), "--key", factory.adminKey()};
        FactoryCliTest.Run csvRun = FactoryCliTest.cli(FactoryCliTest.with(client, "usage", "--by", "project,model", "--format",
                "csv"));
        assertThat(csvRun.exit()).as(csvRun.err()).isZero();
        assertThat(csvRun.out()).startsWith("project,model,requests").contains("default," + MODEL + ",4,1,");
        FactoryCliTest.Run table = FactoryCliTest.cli(FactoryCliTest.with(client, "usage", "--by", "priority", "--period", "day"));
        assertThat(table.out()).contains("DAY", "PRIORITY", "batch");
        FactoryCliTest.Run charged = FactoryCliTest.cli(FactoryCliTest.with(client, "usage", "chargeback"));
        assertThat(charged.exit()).as(charged.err()).isZero();
        assertThat(charged.out()).contains("(total)", "EUR in all");
        Path file = home.resolve("rates.json");
        Files.writeString(file, "{\"currency\": \"credits\", \"default\": {\"inputPerMillion\": 1, "
                + "\"outputPerMillion\": 2}}");
        FactoryCliTest.Run set = FactoryCliTest.cli(FactoryCliTest.with(client, "usage", "rates", "set", file.toString()));
        assertThat(set.exit()).as(set.err()).isZero();
        assertThat(FactoryCliTest.cli(FactoryCliTest.with(client, "usage", "rates")).out()).contains("credits");
    }
}
