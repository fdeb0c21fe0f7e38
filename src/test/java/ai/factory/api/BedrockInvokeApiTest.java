package ai.factory.api;

import ai.factory.ServerTest;
import ai.factory.api.BedrockSdk.AwsKey;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.Json;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.api.BedrockSdk.AwsKey;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelRequest;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelResponse;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.ValidationException;

/** Bedrock's InvokeModel and InvokeModelWithResponseStream with Meta Llama and OpenAI chat bodies, through the AWS SDK. */
@ServerTest
class BedrockInvokeApiTest {
    static final String TINY = BedrockConverseApiTest.TINY;
    static final String LLAMA = """
            {"prompt": "The capital of France is", "max_gen_len": 8, "temperature": 0}""";
    static final String CHAT = """
            {"messages": [{"role": "user", "content": "Tell me a story"}], "max_tokens": 10, "temperature": 0}""";

    @TempDir
    static Path home;

    static TestFactory factory;
    static BedrockRuntimeClient bedrock;
    static BedrockRuntimeAsyncClient bedrockAsync;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
        AwsKey key = BedrockSdk.createAwsKey(factory, "invoker");
        bedrock = BedrockSdk.runtime(factory, Region.US_EAST_1, key.accessKeyId(), key.secretAccessKey());
        bedrockAsync = BedrockSdk.runtimeAsync(factory, key);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, bedrockAsync, factory);
    }

    static JsonNode parse(String s) {
        try {
            return Json.mapper().readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode invoke(String body) {
        InvokeModelResponse r = bedrock.invokeModel(InvokeModelRequest.builder().modelId(TINY)
                .contentType("application/json").accept("application/json").body(SdkBytes.fromUtf8String(body)).build());
        assertThat(r.contentType()).startsWith("application/json");
        return parse(r.body().asUtf8String());
    }

    private static List<JsonNode> invokeStreaming(String body) {
        List<JsonNode> chunks = Collections.synchronizedList(new ArrayList<>());
        bedrockAsync.invokeModelWithResponseStream(InvokeModelWithResponseStreamRequest.builder().modelId(TINY)
                        .contentType("application/json").body(SdkBytes.fromUtf8String(body)).build(),
                InvokeModelWithResponseStreamResponseHandler.builder()
                        .subscriber(InvokeModelWithResponseStreamResponseHandler.Visitor.builder()
                                .onChunk(c -> chunks.add(parse(c.bytes().asUtf8String()))).build())
                        .build()).join();
        return chunks;
    }

    @Test
    void llamaBodyAnswersLikeCompletionsWithTokenCounts() {
        JsonNode answer = invoke(LLAMA);
        JsonNode completion = json(factory.post("/v1/completions", factory.adminKey(), """
                {"model": "acme/tiny", "prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}"""));

        assertThat(answer.path("generation").asText()).isNotEmpty()
                .isEqualTo(completion.path("choices").path(0).path("text").asText());
        assertThat(answer.path("generation_token_count").asInt()).isEqualTo(8);
        assertThat(answer.path("prompt_token_count").asInt())
                .isEqualTo(completion.path("usage").path("prompt_tokens").asInt());
        assertThat(answer.path("stop_reason").asText()).isEqualTo("length");
    }

    @Test
    void llamaBodyStreamsChunksThatAddUpToTheAnswer() {
        String expected = invoke(LLAMA).path("generation").asText();
        List<JsonNode> chunks = invokeStreaming(LLAMA);

        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.path("generation").asText()));
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(chunks.getFirst().path("prompt_token_count").asInt()).isPositive();
        assertThat(chunks.getLast().path("stop_reason").asText()).isEqualTo("length");
        assertThat(chunks.getLast().path("amazon-bedrock-invocationMetrics").path("outputTokenCount").asInt())
                .isEqualTo(8);
    }

    @Test
    void openAiChatBodyAnswersAsChatCompletions() {
        JsonNode answer = invoke(CHAT);
        JsonNode chat = json(factory.post("/v1/chat/completions", factory.adminKey(),
                CHAT.replace("{\"messages\"", "{\"model\": \"acme/tiny\", \"messages\"")));

        assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
        assertThat(answer.path("model").asText()).isEqualTo(TINY);
        assertThat(answer.path("choices").path(0).path("message").path("content").asText()).isNotEmpty()
                .isEqualTo(chat.path("choices").path(0).path("message").path("content").asText());
        assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(10);
    }

    @Test
    void openAiChatBodyStreamsChatCompletionChunks() {
        String expected = invoke(CHAT).path("choices").path(0).path("message").path("content").asText();
        List<JsonNode> chunks = invokeStreaming(CHAT);

        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.path("choices").path(0).path("delta").path("content").asText("")));
        assertThat(chunks).allSatisfy(c -> assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk"));
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(chunks.getLast().path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
    }

    @Test
    void unknownBodyOrBadFieldsAreValidationExceptions() {
        assertThatThrownBy(() -> invoke("{\"inputText\": \"Titan's body\"}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("Llama");
        assertThatThrownBy(() -> invoke("{\"prompt\": \"x\", \"max_gen_len\": 0}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("max_gen_len");
        assertThatThrownBy(() -> invoke("{\"messages\": [], \"max_tokens\": 3}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("messages");
    }
}
