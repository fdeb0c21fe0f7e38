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
        assertThat(d.path("stepTokens").asText()).isEqualTo("auto");
        assertThat(d.path("cacheType").asText()).isEqualTo("f16");
        assertThat(d.path("prefixCache").isInt()).as(d.toString()).isTrue();
        assertThat(d.path("prefixCache").asInt()).isZero();
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
    void aDeploymentKeepsAndShowsItsStepTokensAndCacheTypeAndServesWithThem() {
        HttpResponse<String> imported = factory.post("/api/v1/models/acme/small/versions", factory.adminKey(),
                "{\"path\": \"" + TestModels.smallLlama(home).toAbsolutePath() + "\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
        HttpResponse<String> created = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/small\", \"context\": 128, \"stepTokens\": 32, \"cacheType\": \"q8_0\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        String id = json(created).path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> "ready".equals(
                json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("state").asText()));

        JsonNode shown = json(factory.get("/api/v1/deployments/" + id, factory.adminKey()));
        assertThat(shown.path("stepTokens").isInt()).as(shown.toString()).isTrue();
        assertThat(shown.path("stepTokens").asInt()).isEqualTo(32);
        assertThat(shown.path("cacheType").asText()).isEqualTo("q8_0");
        JsonNode listed = json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments");
        assertThat(listed.findParents("id")).filteredOn(n -> n.path("id").asText().equals(id)).singleElement()
                .satisfies(n -> assertThat(n.path("stepTokens").asInt()).isEqualTo(32))
                .satisfies(n -> assertThat(n.path("cacheType").asText()).isEqualTo("q8_0"));
        HttpResponse<String> chat = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/small", "max_tokens": 8, "temperature": 0,
                 "messages": [{"role": "user", "content": "Tell me about quantized caches."}]}""");
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(json(chat).at("/usage/completion_tokens").asInt()).isBetween(1, 8);

        assertThat(factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(200);
    }

    @Test
    void aPrefixCacheIsShownAndKeepsAConversationsBeginningWhileItsSlotServesAnother() {
        HttpResponse<String> created = factory.post("/api/v1/deployments", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"parallel\": 1, \"context\": 512, \"prefixCache\": 1}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        String id = json(created).path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> "ready".equals(
                json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("state").asText()));
        assertThat(json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("prefixCache").asInt())
                .isEqualTo(1);
        JsonNode listed = json(factory.get("/api/v1/deployments", factory.adminKey())).path("deployments");
        assertThat(listed.findParents("id")).filteredOn(n -> n.path("id").asText().equals(id)).singleElement()
                .satisfies(n -> assertThat(n.path("prefixCache").asInt()).isEqualTo(1));

        String first = "The sovereign factory keeps every prompt, answer and key on its own machines. ".repeat(6)
                + "Say what it keeps.";
        JsonNode opened = converse(first);
        // The one slot serves another conversation; the first one's cells move to the prefix cache.
        converse("Count the planets of the solar system, one by one, and name the largest of them. ".repeat(4));
        JsonNode again = converse(first);

        int prompt = opened.path("inputTokens").asInt() + opened.path("cacheReadInputTokens").asInt();
        assertThat(again.path("cacheReadInputTokens").asInt()).as(again.toString()).isGreaterThan(prompt / 2);
        assertThat(again.path("inputTokens").asInt() + again.path("cacheReadInputTokens").asInt()).isEqualTo(prompt);

        assertThat(factory.send(factory.request("/api/v1/deployments/" + id, factory.adminKey()).DELETE()).statusCode())
                .isEqualTo(200);
    }

    /** Bedrock Converse on acme/tiny: its usage, which counts the prompt tokens read from cached cells. */
    private JsonNode converse(String text) {
        HttpResponse<String> r = factory.post("/model/acme%2Ftiny/converse", factory.adminKey(), """
                {"messages": [{"role": "user", "content": [{"text": "%s"}]}],
                 "inferenceConfig": {"maxTokens": 4, "temperature": 0}}""".formatted(text));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).path("usage");
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
            negative steps    | {"model": "acme/tiny", "stepTokens": -1}     | 400 | `'stepTokens' must be "auto" or between 1 and 512 tokens a step, not -1`
            steps past batch  | {"model": "acme/tiny", "stepTokens": 513}    | 400 | `'stepTokens' must be "auto" or between 1 and 512 tokens a step, not 513`
            steps by name     | {"model": "acme/tiny", "stepTokens": "fast"} | 400 | `'stepTokens' must be "auto" or a whole number of tokens, not 'fast'`
            unknown cache     | {"model": "acme/tiny", "cacheType": "q5_1"}  | 400 | 'cacheType' must be f16, q8_0 or q4_0, not 'q5_1'
            heads not blocks  | {"model": "acme/tiny", "cacheType": "q4_0"}  | 400 | 'cacheType' q4_0 stores attention heads in blocks of 32 elements, but acme/tiny:1 has heads of 4
            negative cache    | {"model": "acme/tiny", "prefixCache": -1}    | 400 | 'prefixCache' must be between 0 and 256 sequences, not -1
            cache past limit  | {"model": "acme/tiny", "prefixCache": 257}   | 400 | 'prefixCache' must be between 0 and 256 sequences, not 257
            cache by name     | {"model": "acme/tiny", "prefixCache": "all"} | 400 | 'prefixCache' must be an integer, not a string
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
