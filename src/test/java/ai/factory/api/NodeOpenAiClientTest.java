package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
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
 * The npm {@code openai} package as JavaScript applications use it: structured output from a zod schema and tool
 * calls streamed. Needs Node.js and npm (the package comes from the npm registry at the pinned version); skipped
 * without them, except under CI, where it fails.
 */
class NodeOpenAiClientTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        boolean node = NodeClients.available();
        assumeTrue(node || "true".equals(System.getenv("CI")), "node and npm are not installed");
        assertThat(node).as("node and npm, which CI needs").isTrue();
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512, \"threads\": 2");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    @Test
    void zodStructuredOutputStreamedToolCallsAndSeveralChoices() throws Exception {
        NodeClients.Result r = NodeClients.node("openai-tools-and-formats.mjs", Map.of("FACTORY_URL", factory.url(),
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
