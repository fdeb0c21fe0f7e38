package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AWS SDK for JavaScript v3 ({@code @aws-sdk/client-bedrock-runtime} and {@code @aws-sdk/client-bedrock}) as
 * JavaScript applications use it, with its default settings: bedrock-runtime over HTTP/2 and SigV4 signed by it,
 * default retries. Needs Node.js and npm (the packages come from the npm registry at the pinned versions); skipped
 * without them, except under CI, where it fails.
 */
@ServerTest
class NodeBedrockClientTest {
    static final String TINY = "acme/tiny";
    /** One slot, room for one waiting request, and a context that takes the tiny model a minute to fill. */
    static final String BUSY = "acme/busy";

    @TempDir
    static Path home;

    static TestFactory factory;
    static BedrockSdk.AwsKey key;

    @BeforeAll
    static void start() {
        boolean node = NodeClients.available();
        assumeTrue(node || "true".equals(System.getenv("CI")), "node and npm are not installed");
        assertThat(node).as("node and npm, which CI needs").isTrue();
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        factory.deployGguf(BUSY, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1, \"threads\": 1");
        key = BedrockSdk.createAwsKey(factory, "js-app");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    @Test
    void everyCallAndEveryTypedErrorWithDefaultSettings() throws Exception {
        ClientProcess.Result r = NodeClients.node("aws-bedrock.mjs", Map.of("FACTORY_URL", factory.url(),
                "FACTORY_ACCESS_KEY_ID", key.accessKeyId(), "FACTORY_SECRET_ACCESS_KEY", key.secretAccessKey(),
                "FACTORY_MODEL", TINY, "FACTORY_BUSY_MODEL", BUSY));
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());

        assertThat(out.at("/handlers/runtime").asText()).isEqualTo("NodeHttp2Handler");
        assertThat(ClientProcess.strings(out.path("models"))).contains(TINY, BUSY);

        JsonNode converse = out.path("converse");
        assertThat(converse.path("text").asText()).isNotBlank();
        assertThat(converse.path("role").asText()).isEqualTo("assistant");
        assertThat(converse.path("stopReason").asText()).isEqualTo("max_tokens");
        assertThat(converse.path("outputTokens").asInt()).isEqualTo(12);
        JsonNode streamed = out.path("converseStream");
        assertThat(streamed.path("text").asText()).isEqualTo(converse.path("text").asText());
        assertThat(streamed.path("stopReason").asText()).isEqualTo("max_tokens");
        assertThat(streamed.path("outputTokens").asInt()).isEqualTo(12);
        List<String> events = ClientProcess.strings(streamed.path("events"));
        assertThat(events).startsWith("messageStart").endsWith("contentBlockStop", "messageStop", "metadata")
                .contains("contentBlockDelta");

        JsonNode invoke = out.path("invoke");
        assertThat(invoke.path("generation").asText()).isNotBlank();
        assertThat(invoke.path("stopReason").asText()).isEqualTo("length");
        assertThat(invoke.path("generationTokenCount").asInt()).isEqualTo(12);
        assertThat(invoke.path("contentType").asText()).startsWith("application/json");
        assertThat(out.at("/invokeStream/generation").asText()).isEqualTo(invoke.path("generation").asText());
        assertThat(out.at("/invokeStream/stopReason").asText()).isEqualTo("length");
        assertThat(out.at("/invokeStream/chunks").asInt()).isGreaterThan(1);

        JsonNode errors = out.path("errors");
        assertError(errors.path("wrongSecret"), "InvalidSignatureException", 403);
        assertError(errors.path("wrongSecretControl"), "InvalidSignatureException", 403);
        assertError(errors.path("unknownAccessKey"), "UnrecognizedClientException", 403);
        assertError(errors.path("unknownModel"), "ResourceNotFoundException", 404);
        assertError(errors.path("unknownModelInvoke"), "ResourceNotFoundException", 404);
        assertError(errors.path("zeroMaxTokens"), "ValidationException", 400);
        assertThat(errors.at("/zeroMaxTokens/message").asText()).contains("maxTokens");
        assertError(errors.path("hotTemperature"), "ValidationException", 400);
        assertThat(errors.at("/hotTemperature/message").asText()).contains("temperature");
        // The SDK retries a throttled call (three attempts in all by default); the queue stays full throughout.
        assertError(errors.path("throttled"), "ThrottlingException", 429);
        assertThat(errors.at("/throttled/attempts").asInt()).isGreaterThan(1);
        assertThat(errors.at("/throttled/message").asText()).contains(BUSY);
    }

    static void assertError(JsonNode error, String name, int status) {
        assertThat(error.path("name").asText()).as(error.toString()).isEqualTo(name);
        assertThat(error.path("status").asInt()).as(error.toString()).isEqualTo(status);
    }
}
