package ai.factory.api;

import ai.factory.ServerTest;
import ai.factory.api.BedrockSdk.AwsKey;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.Json;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.document.Document;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlockDeltaEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamMetadataEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamOutput;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.Message;
import software.amazon.awssdk.services.bedrockruntime.model.MessageStopEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ModelNotReadyException;
import software.amazon.awssdk.services.bedrockruntime.model.ResourceNotFoundException;
import software.amazon.awssdk.services.bedrockruntime.model.StopReason;
import software.amazon.awssdk.services.bedrockruntime.model.SystemContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ThrottlingException;
import software.amazon.awssdk.services.bedrockruntime.model.TokenUsage;
import software.amazon.awssdk.services.bedrockruntime.model.ValidationException;

/** Bedrock's Converse and ConverseStream on the real llama.cpp engine, through the official AWS SDK for Java v2. */
@ServerTest
class BedrockConverseApiTest {
    static final String TINY = "acme/tiny";
    /** One slot, room for one waiting request, and a context that takes the tiny model many seconds to fill. */
    static final String SINGLE = "acme/tiny-single";

    @TempDir
    static Path home;

    static TestFactory factory;
    static String singleId;
    static AwsKey key;
    static BedrockRuntimeClient bedrock;
    static BedrockRuntimeAsyncClient bedrockAsync;

    /** An access key as the keys API hands it out. */

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 4, \"context\": 256, \"queue\": 64");
        singleId = factory.deployGguf(SINGLE, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1");
        key = BedrockSdk.createAwsKey(factory, "bedrock-app");
        bedrock = client(key.accessKeyId(), key.secretAccessKey());
        bedrockAsync = BedrockSdk.runtimeAsync(factory, key);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, bedrockAsync, factory);
    }

    static BedrockRuntimeClient client(String accessKeyId, String secret) {
        return BedrockSdk.runtime(factory, Region.US_EAST_1, accessKeyId, secret);
    }

    static ConverseRequest.Builder converse(String model, String text, int maxTokens) {
        return ConverseRequest.builder().modelId(model)
                .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText(text)).build())
                .inferenceConfig(c -> c.maxTokens(maxTokens).temperature(0f));
    }

    static String text(ConverseResponse response) {
        return response.output().message().content().getFirst().text();
    }

    @Test
    void converseAnswersLikeOpenAiChatForTheSameConversation() {
        ConverseResponse response = bedrock.converse(converse(TINY, "Tell me about sovereign AI.", 16)
                .system(SystemContentBlock.fromText("You are terse.")).build());

        HttpResponse<String> openai = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "max_tokens": 16, "temperature": 0, "messages": [
                  {"role": "system", "content": "You are terse."},
                  {"role": "user", "content": "Tell me about sovereign AI."}]}""");
        JsonNode chat = json(openai);

        assertThat(text(response)).isNotEmpty()
                .isEqualTo(chat.path("choices").path(0).path("message").path("content").asText());
        assertThat(response.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
        assertThat(response.output().message().role()).isEqualTo(ConversationRole.ASSISTANT);
        assertThat(response.usage().outputTokens()).isEqualTo(16);
        int prompt = chat.path("usage").path("prompt_tokens").asInt();
        // As on Bedrock, inputTokens leaves out the prompt tokens read from the cache, which totalTokens counts.
        assertThat(promptTokens(response.usage())).isEqualTo(prompt);
        assertThat(response.usage().totalTokens()).isEqualTo(prompt + 16);
        assertThat(response.metrics().latencyMs()).isNotNegative();
        assertThat(response.responseMetadata().requestId()).as("x-amzn-RequestId, the audit record's request id")
                .matches("[0-9a-f-]{36}");
    }

    /** {@code cacheReadInputTokens}, which Bedrock leaves out when nothing was read from the cache. */
    static int cacheRead(TokenUsage usage) {
        return Objects.requireNonNullElse(usage.cacheReadInputTokens(), 0);
    }

    /** The whole prompt: the input tokens computed and those read from the cache. */
    static int promptTokens(TokenUsage usage) {
        return usage.inputTokens() + cacheRead(usage);
    }

    @Test
    void aRepeatedPromptReportsThePromptTokensReadFromTheCache() {
        // One slot: the second call finds the first's prompt in the slot's cache and computes only what follows it.
        String text = "The sovereign factory keeps every prompt, answer and key on its own machines. ".repeat(6)
                + "Say what it keeps.";
        ConverseResponse first = bedrock.converse(converse(SINGLE, text, 4).build());
        ConverseResponse second = bedrock.converse(converse(SINGLE, text, 4).build());
        int prompt = promptTokens(first.usage());

        assertThat(second.usage().cacheReadInputTokens()).isNotNull().isGreaterThan(prompt / 2);
        assertThat(second.usage().inputTokens()).isPositive()
                .isEqualTo(prompt - second.usage().cacheReadInputTokens());
        assertThat(second.usage().totalTokens()).isEqualTo(prompt + second.usage().outputTokens());
        assertThat(second.usage().cacheWriteInputTokens()).as("no cache checkpoint was asked for").isNull();

        List<ConverseStreamOutput> events = Collections.synchronizedList(new ArrayList<>());
        bedrockAsync.converseStream(ConverseStreamRequest.builder().modelId(SINGLE)
                        .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText(text))
                                .build())
                        .inferenceConfig(c -> c.maxTokens(4).temperature(0f)).build(),
                ConverseStreamResponseHandler.builder().subscriber(events::add).build()).join();
        TokenUsage streamed = ((ConverseStreamMetadataEvent) events.getLast()).usage();
        assertThat(streamed.cacheReadInputTokens()).isNotNull().isGreaterThan(prompt / 2);
        assertThat(promptTokens(streamed)).isEqualTo(prompt);
    }

    @Test
    void stopSequenceEndsTheAnswerWithItsStopReason() {
        String full = text(bedrock.converse(converse(TINY, "Count with me", 40).build()));
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);

        ConverseResponse stopped = bedrock.converse(converse(TINY, "Count with me", 40)
                .inferenceConfig(c -> c.maxTokens(40).temperature(0f).stopSequences(stop)).build());

        assertThat(text(stopped)).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(stopped.stopReason()).isEqualTo(StopReason.STOP_SEQUENCE);
    }

    @Test
    void additionalModelRequestFieldsReachSampling() {
        ConverseRequest.Builder request = converse(TINY, "Pick words", 12)
                .inferenceConfig(c -> c.maxTokens(12).temperature(0.9f).topP(0.9f))
                .additionalModelRequestFields(Document.fromMap(Map.of("top_k", Document.fromNumber(5),
                        "seed", Document.fromNumber(42))));
        assertThat(text(bedrock.converse(request.build()))).isEqualTo(text(bedrock.converse(request.build())));

        assertThatThrownBy(() -> bedrock.converse(converse(TINY, "Hi", 4)
                .additionalModelRequestFields(Document.fromMap(Map.of("beam_width", Document.fromNumber(2)))).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("beam_width");
    }

    @Test
    void converseStreamDeliversEventsInOrderWithTheSameText() {
        String expected = text(bedrock.converse(converse(TINY, "Stream to me", 20).build()));
        List<ConverseStreamOutput> events = Collections.synchronizedList(new ArrayList<>());

        bedrockAsync.converseStream(ConverseStreamRequest.builder().modelId(TINY)
                        .messages(Message.builder().role(ConversationRole.USER)
                                .content(ContentBlock.fromText("Stream to me")).build())
                        .inferenceConfig(c -> c.maxTokens(20).temperature(0f)).build(),
                ConverseStreamResponseHandler.builder().subscriber(events::add).build()).join();

        List<ConverseStreamOutput.EventType> types = events.stream().map(ConverseStreamOutput::sdkEventType).toList();
        assertThat(types.getFirst()).isEqualTo(ConverseStreamOutput.EventType.MESSAGE_START);
        assertThat(types.subList(1, types.size() - 3)).isNotEmpty()
                .containsOnly(ConverseStreamOutput.EventType.CONTENT_BLOCK_DELTA);
        assertThat(types.subList(types.size() - 3, types.size())).containsExactly(
                ConverseStreamOutput.EventType.CONTENT_BLOCK_STOP, ConverseStreamOutput.EventType.MESSAGE_STOP,
                ConverseStreamOutput.EventType.METADATA);
        StringBuilder text = new StringBuilder();
        events.stream().filter(e -> e instanceof ContentBlockDeltaEvent)
                .forEach(e -> text.append(((ContentBlockDeltaEvent) e).delta().text()));
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(((MessageStopEvent) events.get(events.size() - 2)).stopReason()).isEqualTo(StopReason.MAX_TOKENS);
        assertThat(((ConverseStreamMetadataEvent) events.getLast()).usage().outputTokens()).isEqualTo(20);
    }

    @Test
    void converseStreamFramesCarryTheEventStreamHeaders() throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(factory.request("/model/acme%2Ftiny/converse-stream",
                        factory.adminKey()).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("""
                                {"messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                                 "inferenceConfig": {"maxTokens": 3}}""")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/vnd.amazon.eventstream");

        ByteBuffer frames = ByteBuffer.wrap(r.body());
        List<String> types = new ArrayList<>();
        while (frames.hasRemaining()) {
            software.amazon.eventstream.Message frame = software.amazon.eventstream.Message.decode(frames);
            assertThat(frame.getHeaders().get(":message-type").getString()).isEqualTo("event");
            assertThat(frame.getHeaders().get(":content-type").getString()).isEqualTo("application/json");
            types.add(frame.getHeaders().get(":event-type").getString());
        }
        assertThat(types.getFirst()).isEqualTo("messageStart");
        assertThat(types.subList(types.size() - 3, types.size()))
                .containsExactly("contentBlockStop", "messageStop", "metadata");
    }

    @Test
    void converseStreamRefusesAnUnknownModelBeforeStreaming() {
        assertThatThrownBy(() -> bedrockAsync.converseStream(ConverseStreamRequest.builder().modelId("acme/none")
                        .messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("Hi")).build())
                        .build(),
                ConverseStreamResponseHandler.builder().subscriber(e -> {}).build()).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(ResourceNotFoundException.class);
    }

    @Test
    void unknownModelIsResourceNotFound() {
        assertThatThrownBy(() -> bedrock.converse(converse("acme/none", "Hi", 4).build()))
                .isInstanceOf(ResourceNotFoundException.class)
                .hasMessageContaining("acme/none")
                .satisfies(e -> assertThat(((ResourceNotFoundException) e).requestId()).matches("[0-9a-f-]{36}"));
    }

    @Test
    void badInputIsValidationException() {
        assertThatThrownBy(() -> bedrock.converse(converse(TINY, "Hi", 0).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("maxTokens");
        assertThatThrownBy(() -> bedrock.converse(ConverseRequest.builder().modelId(TINY).messages(List.of()).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("messages");
        assertThatThrownBy(() -> bedrock.converse(ConverseRequest.builder().modelId(TINY)
                .messages(Message.builder().role(ConversationRole.USER)
                        .content(ContentBlock.fromImage(i -> i.format("png")
                                .source(s -> s.bytes(SdkBytes.fromUtf8String("x"))))).build())
                .build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("only text content blocks");
        Message user = Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("Hi")).build();
        Message assistant = Message.builder().role(ConversationRole.ASSISTANT).content(ContentBlock.fromText("Yes")).build();
        assertThatThrownBy(() -> bedrock.converse(ConverseRequest.builder().modelId(TINY).messages(assistant, user).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("must start with a user message");
        assertThatThrownBy(() -> bedrock.converse(ConverseRequest.builder().modelId(TINY).messages(user, user).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("must alternate between user and assistant");
        assertThatThrownBy(() -> bedrock.converse(converse(TINY, "Hi", 100000).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("'inferenceConfig.maxTokens' is too large").hasMessageContaining("256");
    }

    @Test
    void modelIdMayNameAVersion() {
        assertThat(text(bedrock.converse(converse(TINY + ":1", "Hi", 4).build()))).isNotEmpty();
    }

    @Test
    void modelIdMayBeAnImportedModelArn() {
        String arn = "arn:aws:bedrock:us-east-1:123456789012:imported-model/" + TINY;
        assertThat(text(bedrock.converse(converse(arn, "Hi", 4).build())))
                .isEqualTo(text(bedrock.converse(converse(TINY, "Hi", 4).build())));
        assertThatThrownBy(() -> bedrock.converse(converse(
                "arn:aws:bedrock:us-east-1:123456789012:imported-model/acme/none", "Hi", 4).build()))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> bedrock.converse(converse("arn:aws:s3:::bucket", "Hi", 4).build()))
                .isInstanceOf(ValidationException.class)
                .hasMessageContaining("ARN");
    }

    @Test
    void bearerKeyWorksOnConverse() {
        HttpResponse<String> r = factory.post("/model/acme%2Ftiny/converse", factory.adminKey(), """
                {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 3}}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).path("usage").path("outputTokens").asInt()).isEqualTo(3);
    }

    @Test
    void fullQueueIsAThrottlingException() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest endless = endlessStream(SINGLE);
        try (InputStream generating = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
            // Bytes after messageStart mean it holds the slot (messageStart is sent while a request still waits).
            TestFactory.readUntil(generating, "contentBlockDelta", 1);
            try (InputStream waiting = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
                assertThatThrownBy(() -> bedrock.converse(converse(SINGLE, "Hi", 2).build()))
                        .isInstanceOf(ThrottlingException.class);
                assertThat(waiting).isNotNull();
            }
        }
    }

    @Test
    void disconnectedStreamFreesItsSlot() throws Exception {
        // Another test's streams on this model may still be ending (their cancellation takes a step or two).
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode d = json(factory.get("/api/v1/deployments/" + singleId, factory.adminKey()));
            return d.path("activeRequests").asInt() == 0 && d.path("waitingRequests").asInt() == 0;
        });
        HttpClient http = HttpClient.newHttpClient();
        InputStream events = http.send(endlessStream(SINGLE), HttpResponse.BodyHandlers.ofInputStream()).body();
        TestFactory.readUntil(events, "contentBlockDelta", 1);
        events.close();

        // 100000 tokens would hold the only slot for minutes; the cancelled generation frees it at once.
        await().atMost(Duration.ofSeconds(20)).until(() -> json(factory.get("/api/v1/deployments/" + singleId,
                factory.adminKey())).path("activeRequests").asInt() == 0);
        assertThat(text(bedrock.converse(converse(SINGLE, "Hi", 2).build()))).isNotNull();
    }

    private static HttpRequest endlessStream(String model) {
        return factory.request("/model/" + model.replace("/", "%2F") + "/converse-stream", factory.adminKey())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"messages": [{"role": "user", "content": [{"text": "x"}]}],
                         "inferenceConfig": {"maxTokens": 100000}}"""))
                .build();
    }

    @Test
    void modelThatFailedToLoadIsModelNotReady() throws Exception {
        // A well-formed GGUF whose architecture llama.cpp does not know: the deployment fails with the reason.
        byte[] gguf = Files.readAllBytes(TestModels.tinyLlama());
        String text = new String(gguf, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("general.architecture") + "general.architecture".length() + 4 + 8;
        assertThat(text.substring(at, at + 5)).isEqualTo("llama");
        System.arraycopy("zzzzz".getBytes(StandardCharsets.US_ASCII), 0, gguf, at, 5);
        Path strange = Files.write(home.resolve("strange.gguf"), gguf);
        assertThat(factory.post("/api/v1/models/acme/strange/versions", factory.adminKey(),
                "{\"path\": \"" + strange + "\"}").statusCode()).isEqualTo(201);
        String id = json(factory.post("/api/v1/deployments", factory.adminKey(), "{\"model\": \"acme/strange\"}"))
                .path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> json(factory.get("/api/v1/deployments/" + id,
                factory.adminKey())).path("state").asText().equals("failed"));

        assertThatThrownBy(() -> bedrock.converse(converse("acme/strange", "Hi", 2).build()))
                .isInstanceOfSatisfying(ModelNotReadyException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(429);
                    assertThat(e.getMessage()).contains("failed");
                });
    }

    @Test
    void malformedJsonIsValidationExceptionInAwsShape() throws Exception {
        HttpResponse<String> r = factory.post("/model/acme%2Ftiny/converse", factory.adminKey(), "{nope");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("ValidationException");
        assertThat(Json.mapper().readTree(r.body()).path("message").asText()).contains("not valid JSON");
    }
}
