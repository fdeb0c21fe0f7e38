package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Python's boto3, the most used AWS SDK, as a user writes it (endpoint, region and credentials, nothing else): its
 * bedrock-runtime and bedrock clients on every call and every typed error, and Converse with tools (toolUse, streamed
 * toolUse, toolResult). Needs {@code python3} with boto3 (this machine's Python has it); skipped without, except
 * under CI, where it fails.
 */
@ServerTest
class Boto3ClientTest {
    static final String TINY = "acme/tiny";
    /** One slot, room for one waiting request, and a context that takes the tiny model a minute to fill. */
    static final String BUSY = "acme/busy";

    @TempDir
    static Path home;

    static TestFactory factory;
    static BedrockSdk.AwsKey key;

    @BeforeAll
    static void start() throws Exception {
        boolean boto3 = python("import boto3");
        assumeTrue(boto3 || "true".equals(System.getenv("CI")), "python3 with boto3 is not installed");
        assertThat(boto3).as("python3 with boto3, which CI needs").isTrue();
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        factory.deployGguf(BUSY, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1, \"threads\": 1");
        key = BedrockSdk.createAwsKey(factory, "boto3-app");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    /** Whether python3 runs {@code code} (an import, say) successfully. */
    static boolean python(String code) throws InterruptedException {
        try {
            Process p = new ProcessBuilder("python3", "-c", code).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs the script (a resource beside this class) with the client defaults and {@code env}; its JSON output. */
    private static JsonNode run(String script, Map<String, String> env) throws Exception {
        Path file = home.resolve(script);
        try (InputStream in = Boto3ClientTest.class.getResourceAsStream(script)) {
            Files.write(file, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder("python3", file.toString());
        ClientProcess.clientDefaults(pb.environment(), home);
        pb.environment().putAll(env);
        ClientProcess.Result r = ClientProcess.run(pb, 180);
        assertThat(r.exit()).as(r.err()).isZero();
        return Json.mapper().readTree(r.out());
    }

    @Test
    void everyCallAndEveryTypedErrorWithDefaultSettings() throws Exception {
        JsonNode out = run("boto3_conformance.py", Map.of("FACTORY_ENDPOINT", factory.url(),
                "AWS_ACCESS_KEY_ID", key.accessKeyId(), "AWS_SECRET_ACCESS_KEY", key.secretAccessKey(),
                "FACTORY_MODEL", TINY, "FACTORY_BUSY_MODEL", BUSY));

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
        assertThat(ClientProcess.strings(streamed.path("events"))).startsWith("messageStart")
                .endsWith("contentBlockStop", "messageStop", "metadata");

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
        assertError(errors.path("unknownAccessKey"), "UnrecognizedClientException", 403);
        assertError(errors.path("unknownModel"), "ResourceNotFoundException", 404);
        assertError(errors.path("unknownModelControl"), "ResourceNotFoundException", 404);
        assertError(errors.path("hotTemperature"), "ValidationException", 400);
        assertThat(errors.at("/hotTemperature/message").asText()).contains("temperature");
        assertError(errors.path("zeroMaxGenLen"), "ValidationException", 400);
        assertThat(errors.at("/zeroMaxGenLen/message").asText()).contains("max_gen_len");
        // boto3 retries a ThrottlingException (four times, by default); the queue stays full throughout.
        assertError(errors.path("throttled"), "ThrottlingException", 429);
        assertThat(errors.at("/throttled/exception").asText()).isEqualTo("ThrottlingException");
        assertThat(errors.at("/throttled/retries").asInt()).isPositive();
        assertThat(errors.at("/throttled/message").asText()).contains(BUSY);
    }

    static void assertError(JsonNode error, String code, int status) {
        assertThat(error.path("code").asText()).as(error.toString()).isEqualTo(code);
        assertThat(error.path("status").asInt()).as(error.toString()).isEqualTo(status);
    }

    @Test
    void converseWithToolsFromCallToResultToAnswer() throws Exception {
        JsonNode r = run("boto3_converse_tools.py", Map.of("FACTORY_ENDPOINT", factory.url(),
                "FACTORY_ACCESS_KEY_ID", key.accessKeyId(), "FACTORY_SECRET_ACCESS_KEY", key.secretAccessKey(),
                "FACTORY_MODEL", TINY));
        assertThat(r.path("stopReason").asText()).isEqualTo("tool_use");
        assertThat(r.at("/toolUse/name").asText()).isEqualTo("get_weather");
        assertThat(r.at("/toolUse/input/city").asText()).isIn("Oslo", "Lima");
        assertThat(r.at("/toolUse/toolUseId").asText()).isNotBlank();
        assertThat(r.at("/streamed/name").asText()).isEqualTo("get_weather");
        assertThat(r.at("/streamed/stop").asText()).isEqualTo("tool_use");
        assertThat(Json.mapper().readTree(r.at("/streamed/input").asText())).isEqualTo(r.at("/toolUse/input"));
        assertThat(r.path("answerPromptTokens").asInt()).isGreaterThan(r.path("firstPromptTokens").asInt());
        assertThat(r.path("validationError").asText()).contains("nope");
    }
}
