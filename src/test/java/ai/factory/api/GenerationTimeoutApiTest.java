package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.config.Setting;
import java.net.http.HttpResponse;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.Message;
import software.amazon.awssdk.services.bedrockruntime.model.ModelTimeoutException;

/**
 * {@code server.generationTimeout}: a generation that runs too long is stopped, its slot freed, and the caller
 * told so — a 504 on the OpenAI API, {@code ModelTimeoutException} on Bedrock's.
 */
@ServerTest
class GenerationTimeoutApiTest {
    static final String MODEL = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;
    static BedrockRuntimeClient bedrock;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, Map.of(Setting.GENERATION_TIMEOUT, "1s"));
        // One slot and a context the tiny model needs far longer than a second to fill.
        factory.deployGguf(MODEL, TestModels.tinyLlama(), "\"parallel\": 1, \"context\": 131072");
        BedrockSdk.AwsKey key = BedrockSdk.createAwsKey(factory, "timeout-app");
        bedrock = BedrockSdk.runtime(factory, Region.US_EAST_1, key.accessKeyId(), key.secretAccessKey());
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, factory);
    }

    @Test
    void openAiCallerGets504AndTheSlotIsFreed() {
        HttpResponse<String> r = factory.send(factory.request("/v1/completions", factory.adminKey())
                .header("Content-Type", "application/json").header("X-Request-Id", "timed-out-1")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL
                        + "\",\"prompt\":\"x\",\"max_tokens\":100000,\"ignore_eos\":true}")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(504);
        // The record still counts what the stopped generation used.
        var record = factory.auditRecord("timed-out-1", factory.adminKey());
        assertThat(record.path("promptTokens").asLong()).isPositive();
        assertThat(record.path("completionTokens").asLong()).isPositive().isLessThan(100000);
        assertThat(record.path("outcome").asText()).isEqualTo("failure");
        assertThat(json(r).at("/error/code").asText()).isEqualTo("timeout");
        assertThat(json(r).at("/error/message").asText()).contains("ran longer than PT1S");

        HttpResponse<String> next = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\":\"" + MODEL + "\",\"prompt\":\"y\",\"max_tokens\":2}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    }

    @Test
    void streamThatTimesOutEndsWithAnErrorFrameThenDone() throws Exception {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\":\"" + MODEL
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"go on\"}],\"stream\":true,"
                + "\"max_tokens\":100000,\"ignore_eos\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> frames = List.of(r.body().split("\n\n"));
        assertThat(frames.getLast()).isEqualTo("data: [DONE]");
        String error = frames.get(frames.size() - 2);
        assertThat(error).startsWith("data: {");
        JsonNode body = Json.mapper().readTree(error.substring("data: ".length()));
        assertThat(body.at("/error/code").asText()).isEqualTo("timeout");
        assertThat(body.at("/error/type").asText()).isEqualTo("server_error");
        assertThat(body.at("/error/message").asText()).contains("ran longer than PT1S");
        // Every other frame is a chunk or a comment: the error is framed, not appended.
        assertThat(frames.subList(0, frames.size() - 2)).allSatisfy(f ->
                assertThat(f).matches("(?s)(data: \\{\"id\".*|: keep-alive)"));
    }

    @Test
    void bedrockCallerGetsModelTimeoutException() {
        // ignore_eos, as the OpenAI calls above: the random test model may otherwise end on its own within the second.
        assertThatThrownBy(() -> bedrock.converse(c -> c.modelId(MODEL)
                .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("go on")).build())
                .inferenceConfig(i -> i.maxTokens(100000))
                .additionalModelRequestFields(software.amazon.awssdk.core.document.Document.fromMap(
                        Map.of("ignore_eos", software.amazon.awssdk.core.document.Document.fromBoolean(true))))))
                .isInstanceOfSatisfying(ModelTimeoutException.class, e -> assertThat(e.statusCode()).isEqualTo(408));
        assertThat(bedrock.converse(c -> c.modelId(MODEL)
                .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("hi")).build())
                .inferenceConfig(i -> i.maxTokens(2))).usage().outputTokens()).isEqualTo(2);
    }
}
