package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The npm {@code openai} package as JavaScript applications use it, with its default settings: models, chat whole and
 * streamed, embeddings and every typed error, then structured output from a zod schema and tool calls streamed.
 * Needs Node.js and npm (the package comes from the npm registry at the pinned version); skipped without them, except
 * under CI, where it fails.
 */
@ServerTest
class NodeOpenAiClientTest {
    static final String TINY = "acme/tiny";
    /** One slot, room for one waiting request, and a context that takes the tiny model a minute to fill. */
    static final String BUSY = "acme/busy";
    static final String EMBEDDINGS = "builtin/all-minilm-l6-v2";

    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        boolean node = NodeClients.available();
        assumeTrue(node || "true".equals(System.getenv("CI")), "node and npm are not installed");
        assertThat(node).as("node and npm, which CI needs").isTrue();
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        factory.deployGguf(BUSY, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1, \"threads\": 1");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    @Test
    void everyCallAndEveryTypedErrorWithDefaultSettings() throws Exception {
        ClientProcess.Result r = NodeClients.node("openai-conformance.mjs", Map.of("FACTORY_URL", factory.url(),
                "FACTORY_API_KEY", factory.adminKey(), "FACTORY_MODEL", TINY, "FACTORY_BUSY_MODEL", BUSY,
                "FACTORY_EMBEDDING_MODEL", EMBEDDINGS));
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());

        assertThat(out.path("models").findValuesAsText("id")).contains(TINY, BUSY, EMBEDDINGS);
        assertThat(out.path("models").findValuesAsText("object")).containsOnly("model");

        JsonNode chat = out.path("chat");
        assertThat(chat.path("object").asText()).isEqualTo("chat.completion");
        assertThat(chat.path("text").asText()).isNotBlank();
        assertThat(chat.path("role").asText()).isEqualTo("assistant");
        assertThat(chat.path("finishReason").asText()).isEqualTo("length");
        assertThat(chat.path("completionTokens").asInt()).isEqualTo(12);
        JsonNode streamed = out.path("chatStream");
        assertThat(streamed.path("text").asText()).isEqualTo(chat.path("text").asText());
        assertThat(streamed.path("finishReason").asText()).isEqualTo("length");
        assertThat(streamed.path("completionTokens").asInt()).isEqualTo(12);
        assertThat(streamed.path("chunks").asInt()).isGreaterThan(2);

        JsonNode embeddings = out.path("embeddings");
        assertThat(embeddings.path("count").asInt()).isEqualTo(3);
        assertThat(embeddings.path("dimensions").asInt()).isEqualTo(384);
        assertThat(embeddings.path("indexes").toString()).isEqualTo("[0,1,2]");
        assertThat(embeddings.path("same").asDouble()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(embeddings.path("different").asDouble()).isLessThan(0.9);
        assertThat(embeddings.path("promptTokens").asInt()).isPositive();

        JsonNode errors = out.path("errors");
        assertError(errors.path("wrongKey"), "AuthenticationError", 401, "invalid_api_key");
        assertError(errors.path("unknownModel"), "NotFoundError", 404, "model_not_found");
        assertError(errors.path("unknownEmbeddingModel"), "NotFoundError", 404, "model_not_found");
        assertError(errors.path("hotTemperature"), "BadRequestError", 400, null);
        assertThat(errors.at("/hotTemperature/param").asText()).isEqualTo("temperature");
        // The package retries a 429 twice by default, after the Retry-After the factory sends; the queue stays full.
        assertError(errors.path("throttled"), "RateLimitError", 429, "rate_limit_exceeded");
        assertThat(errors.at("/throttled/message").asText()).contains(BUSY);
    }

    static void assertError(JsonNode error, String type, int status, String code) {
        assertThat(error.path("type").asText()).as(error.toString()).isEqualTo(type);
        assertThat(error.path("status").asInt()).as(error.toString()).isEqualTo(status);
        assertThat(error.path("code").isNull() ? null : error.path("code").asText()).as(error.toString()).isEqualTo(code);
    }

    @Test
    void zodStructuredOutputStreamedToolCallsAndSeveralChoices() throws Exception {
        ClientProcess.Result r = NodeClients.node("openai-tools-and-formats.mjs", Map.of("FACTORY_URL", factory.url(),
                "FACTORY_API_KEY", factory.adminKey(), "FACTORY_MODEL", TINY));
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());

        assertThat(out.path("parsedFinish").asText()).isEqualTo("stop");
        assertThat(out.at("/parsed/city").asText()).isIn("PARIS", "OSLO", "LIMA");
        assertThat(out.at("/parsed/temperature").asInt(1000)).isBetween(-60, 60);
        assertThat(out.at("/parsed/rain").isBoolean()).isTrue();
        assertThat(java.time.Instant.parse(out.at("/parsed/issued").asText())).isNotNull();
        assertThat(out.at("/parsed/station").isNull() || out.at("/parsed/station").asText().length() == 36).isTrue();

        assertThat(out.path("streamedFinish").asText()).isEqualTo("tool_calls");
        JsonNode call = out.at("/streamedCalls/0");
        assertThat(call.path("id").asText()).isNotBlank();
        assertThat(call.path("name").asText()).isEqualTo(out.at("/wholeCall/name").asText()).isEqualTo("get_weather");
        assertThat(call.path("arguments").asText()).isEqualTo(out.at("/wholeCall/arguments").asText());
        assertThat(Json.mapper().readTree(call.path("arguments").asText()).path("city").asText()).isIn("Oslo", "Lima");

        assertThat(out.path("choices")).hasSize(2);
        for (int i = 0; i < 2; i++) {
            assertThat(out.at("/choices/" + i + "/index").asInt()).isEqualTo(i);
            assertThat(out.at("/choices/" + i + "/finish").asText()).isIn("stop", "length");
        }
        assertThat(out.at("/choices/0/content").asText()).isNotEmpty().isEqualTo(out.at("/choices/1/content").asText());
        assertThat(out.path("completionIndexes").toString()).isEqualTo("[0,1,2,3]");

        assertThat(out.at("/error/type").asText()).isEqualTo("NotFoundError");
        assertThat(out.at("/error/status").asInt()).isEqualTo(404);
    }
}
