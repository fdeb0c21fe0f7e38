package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /api/v1/usage} and {@code factory usage} against a real factory: requests and tokens by project and
 * model, summed from the audit trail, each project admin seeing only its own project.
 */
@ServerTest
class UsageApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static String alphaInvoker;
    static String alphaAdmin;
    static String betaInvoker;
    static String auditor;
    static long alphaPrompt;
    static long alphaCompletion;

    @BeforeAll
    static void start() {
        Path model = TestModels.tinyLlama();
        factory = TestFactory.start(home);
        factory.projectWithModel("alpha", model);
        factory.projectWithModel("beta", model);
        alphaInvoker = key("app", "alpha", "invoker");
        alphaAdmin = key("lead", "alpha", "project-admin");
        betaInvoker = key("app", "beta", "invoker");
        auditor = key("officer", "default", "auditor");

        for (int maxTokens : List.of(8, 5)) {
            JsonNode answer = json(chat(alphaInvoker, "alpha/tiny", maxTokens));
            alphaPrompt += answer.at("/usage/prompt_tokens").asLong();
            alphaCompletion += answer.at("/usage/completion_tokens").asLong();
        }
        assertThat(chat(alphaInvoker, "alpha/tiny", 0).statusCode()).isEqualTo(400);
        assertThat(chat(betaInvoker, "beta/tiny", 3).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofMinutes(1)).until(() -> requests(json(factory.get("/api/v1/usage", auditor))) == 4);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static String key(String name, String project, String role) {
        return factory.createKey(name, project, role);
    }

    private static HttpResponse<String> chat(String key, String model, int maxTokens) {
        return factory.post("/v1/chat/completions", key, "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"How much did we use?\"}]}");
    }

    private static long requests(JsonNode usage) {
        return StreamSupport.stream(usage.path("usage").spliterator(), false).mapToLong(u -> u.path("requests").asLong())
                .sum();
    }

    @Test
    void aProjectAdminSeesItsOwnProjectsRequestsAndTokens() {
        JsonNode usage = json(factory.get("/api/v1/usage", alphaAdmin));
        assertThat(usage.path("usage")).singleElement().satisfies(u -> {
            assertThat(u.path("project").asText()).isEqualTo("alpha");
            assertThat(u.path("model").asText()).isEqualTo("alpha/tiny");
            assertThat(u.path("requests").asLong()).isEqualTo(3);
            assertThat(u.path("failed").asLong()).isEqualTo(1);
            assertThat(u.path("promptTokens").asLong()).isEqualTo(alphaPrompt).isPositive();
            assertThat(u.path("completionTokens").asLong()).isEqualTo(alphaCompletion).isEqualTo(13);
            assertThat(u.path("bytesOut").asLong()).isPositive();
        });
        assertThat(json(factory.get("/api/v1/usage?project=alpha", alphaAdmin)).path("usage").size()).isEqualTo(1);
        assertThat(factory.get("/api/v1/usage?project=beta", alphaAdmin).statusCode()).isEqualTo(403);
    }

    @Test
    void auditorsAndAdminsSeeEveryProjectOthersNothing() {
        JsonNode all = json(factory.get("/api/v1/usage", auditor));
        assertThat(all.path("usage").findValuesAsText("project")).containsExactly("alpha", "beta");
        assertThat(json(factory.get("/api/v1/usage?project=beta", factory.adminKey())).at("/usage/0/completionTokens")
                .asLong()).isEqualTo(3);
        assertThat(factory.get("/api/v1/usage", alphaInvoker).statusCode()).isEqualTo(403);
        assertThat(json(factory.get("/api/v1/usage?from=2000-01-01&to=2000-01-02", auditor)).path("usage")).isEmpty();
    }

    @Test
    void badQueriesAreRefused() {
        assertThat(factory.get("/api/v1/usage?project=Not_A_Project", auditor).body()).contains("project name must be");
        assertThat(factory.get("/api/v1/usage?from=yesterday", auditor).statusCode()).isEqualTo(400);
        assertThat(factory.get("/api/v1/usage?from=2026-12-02&to=2026-12-01", auditor).body()).contains("'to' must be after");
        assertThat(factory.get("/api/v1/usage?model=alpha/tiny", auditor).body()).contains("unknown parameter 'model'");
        assertThat(factory.get("/api/v1/usage?project=alpha&project=beta", auditor).statusCode()).isEqualTo(400);
    }

    @Test
    void theCommandLinePrintsTheTable() {
        FactoryCliTest.Run run = FactoryCliTest.cli("usage", "--project", "alpha", "--url", factory.url(), "--key", alphaAdmin);
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("PROJECT").contains("alpha/tiny").contains(Long.toString(alphaCompletion));
        FactoryCliTest.Run json = FactoryCliTest.cli("usage", "--json", "--url", factory.url(), "--key", auditor);
        assertThat(json.json().path("usage").size()).isEqualTo(2);
        FactoryCliTest.Run refused = FactoryCliTest.cli("usage", "--url", factory.url(), "--key", alphaInvoker);
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("403");
    }
}
