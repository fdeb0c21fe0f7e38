package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bedrock Converse with tools from Python's boto3, the most used AWS SDK, as a user writes it (endpoint, region and
 * credentials, nothing else): toolUse, streamed toolUse, toolResult, and a ValidationException. Needs
 * {@code python3} with boto3 (this machine's Python has it); skipped without, except under CI, where it fails.
 */
class Boto3ToolUseTest {
    static final String TINY = "acme/tiny";

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
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512, \"threads\": 2");
        key = BedrockSdk.createAwsKey(factory, "boto3-app");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static boolean python(String code) throws InterruptedException {
        try {
            Process p = new ProcessBuilder("python3", "-c", code).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void converseWithToolsFromCallToResultToAnswer() throws Exception {
        Path script = home.resolve("boto3_converse_tools.py");
        try (InputStream in = Boto3ToolUseTest.class.getResourceAsStream("boto3_converse_tools.py")) {
            Files.write(script, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString());
        pb.environment().put("FACTORY_ENDPOINT", factory.url());
        pb.environment().put("FACTORY_ACCESS_KEY_ID", key.accessKeyId());
        pb.environment().put("FACTORY_SECRET_ACCESS_KEY", key.secretAccessKey());
        pb.environment().put("FACTORY_MODEL", TINY);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();

        JsonNode r = Json.mapper().readTree(out);
        assertThat(r.path("stopReason").asText()).isEqualTo("tool_use");
        assertThat(r.at("/toolUse/name").asText()).isEqualTo("get_weather");
        assertThat(r.at("/toolUse/input/city").asText()).isIn("Oslo", "Lima");
        assertThat(r.at("/toolUse/toolUseId").asText()).isNotBlank();
        assertThat(r.at("/streamed/name").asText()).isEqualTo("get_weather");
        assertThat(r.at("/streamed/stop").asText()).isEqualTo("tool_use");
        assertThat(Json.mapper().readTree(r.at("/streamed/input").asText())).isEqualTo(r.at("/toolUse/input"));
        assertThat(r.path("answerInputTokens").asInt()).isGreaterThan(r.path("firstInputTokens").asInt());
        assertThat(r.path("validationError").asText()).contains("nope");
    }
}
