package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code /api/v1/deployments}: create, watch, refuse, delete. */
@ServerTest
class DeploymentsApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        HttpResponse<String> r = factory.post("/api/v1/models/acme/tiny/versions", factory.adminKey(),
                "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    @Test
    void deploymentGoesFromPendingToReadyAndDeleteUnloadsIt() {
        HttpResponse<String> created = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"replicas\": 2, \"parallel\": 2, \"context\": 128}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        JsonNode d = json(created);
        assertThat(d.path("state").asText()).isIn("pending", "loading", "ready");
        String id = d.path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() ->
                "ready".equals(json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("state").asText()));
        assertThat(json(factory.get("/v1/models", factory.adminKey())).findValuesAsText("id")).contains("acme/tiny");
        assertThat(factory.send(factory.request("/api/v1/models/acme/tiny", factory.adminKey()).DELETE()).statusCode())
                .as("a deployed model can't be deleted").isEqualTo(409);

        HttpResponse<String> deleted = factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey()).DELETE());
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(factory.get("/api/v1/deployments/" + id, factory.adminKey()).statusCode()).isEqualTo(404);
        assertThat(json(factory.get("/v1/models", factory.adminKey())).findValuesAsText("id")).doesNotContain("acme/tiny");
        HttpResponse<String> chat = factory.post("/v1/chat/completions", factory.adminKey(),
                "{\"model\":\"acme/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(chat.statusCode()).isEqualTo(404);
    }

    @Test
    void deploymentThatCannotFitIsRefusedWithTheNumbers() {
        HttpResponse<String> r = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"replicas\": 64, \"parallel\": 256, \"context\": 1048576}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("does not fit", "KV cache", "MiB", "free");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            unknown model     | {"model": "acme/none"}                       | 404 | no model
            no model          | {}                                           | 400 | 'model' is required
            bad model name    | {"model": "tiny"}                            | 400 | invalid model name
            zero replicas     | {"model": "acme/tiny", "replicas": 0}        | 400 | 'replicas'
            parallel as text  | {"model": "acme/tiny", "parallel": "four"}   | 400 | must be an integer
            negative context  | {"model": "acme/tiny", "context": -1}        | 400 | 'context'
            no waiting room   | {"model": "acme/tiny", "queue": 0}           | 400 | 'queue' must be between 1 and 100000
            malformed         | {"model":                                    | 400 | not valid JSON
            """)
    void badDeploymentRequestsAreClientErrors(String name, String body, int status, String message) {
        HttpResponse<String> r = factory.post("/api/v1/deployments", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(json(r).at("/error/message").asText()).contains(message);
    }

    @Test
    void onlyAdminsDeployAndUnknownDeploymentsAre404() {
        String invoker = json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"app\"}")).path("secret").asText();
        assertThat(factory.post("/api/v1/deployments", invoker, "{\"model\": \"acme/tiny\"}").statusCode()).isEqualTo(403);
        assertThat(factory.send(factory.request("/api/v1/deployments/dep-nope", factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(404);
    }
}
