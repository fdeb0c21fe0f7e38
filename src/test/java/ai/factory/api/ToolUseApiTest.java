package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.document.Document;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.AnyToolChoice;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamOutput;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.Message;
import software.amazon.awssdk.services.bedrockruntime.model.StopReason;
import software.amazon.awssdk.services.bedrockruntime.model.Tool;
import software.amazon.awssdk.services.bedrockruntime.model.ToolChoice;
import software.amazon.awssdk.services.bedrockruntime.model.ToolConfiguration;
import software.amazon.awssdk.services.bedrockruntime.model.ToolInputSchema;
import software.amazon.awssdk.services.bedrockruntime.model.ToolResultBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ToolResultContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ToolSpecification;
import software.amazon.awssdk.services.bedrockruntime.model.ToolUseBlock;

/**
 * Tool calling on every API, through the official clients, on the random-weight test model: a required (or
 * named) tool choice makes the grammar force a well-formed call whose arguments fit the tool's schema, so even
 * this model calls the tool; the client then sends the result back and gets an answer.
 */
@ServerTest
class ToolUseApiTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;
    static BedrockRuntimeClient bedrock;
    static BedrockRuntimeAsyncClient bedrockAsync;

    /** The tool a client declares from a class, as openai-java derives it. */
    public static class GetWeather {
        @JsonPropertyDescription("the city")
        public City city;

        @JsonPropertyDescription("whether to answer in Celsius")
        public boolean celsius;
    }

    public enum City { PARIS, OSLO, LIMA }

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .maxRetries(0).build();
        BedrockSdk.AwsKey key = BedrockSdk.createAwsKey(factory, "tools-app");
        bedrock = BedrockSdk.runtime(factory, Region.US_EAST_1, key.accessKeyId(), key.secretAccessKey());
        bedrockAsync = BedrockSdk.runtimeAsync(factory, key);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, bedrockAsync, factory);
    }

    /** One call asked for: with parallel calls allowed, a random model may go on calling until the limit. */
    private static ChatCompletionCreateParams.Builder weatherQuestion() {
        return ChatCompletionCreateParams.builder().model(TINY).addUserMessage("What is the weather in Oslo?")
                .addTool(GetWeather.class).parallelToolCalls(false).maxCompletionTokens(96).temperature(0.0);
    }

    @Test
    void openAiRoundTripFromCallToResultToAnswer() {
        ChatCompletion first = openai.chat().completions().create(weatherQuestion()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
        ChatCompletion.Choice choice = first.choices().getFirst();
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        List<ChatCompletionMessageFunctionToolCall> calls = choice.message().toolCalls().orElseThrow().stream()
                .map(c -> c.asFunction()).toList();
        assertThat(calls).isNotEmpty();
        ChatCompletionMessageFunctionToolCall call = calls.getFirst();
        assertThat(call.id()).isNotBlank();
        assertThat(call.function().name()).isEqualTo("GetWeather");
        // The arguments parse into the class the tool was declared from: the grammar kept them in its schema.
        GetWeather arguments = call.function().arguments(GetWeather.class);
        assertThat(arguments.city).isNotNull();

        ChatCompletion answer = openai.chat().completions().create(weatherQuestion()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("-3 C, snow").build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(8).build());
        assertThat(answer.choices().getFirst().message().toolCalls().orElse(List.of())).isEmpty();
        assertThat(answer.choices().getFirst().message().content()).isPresent();
        assertThat(answer.usage().orElseThrow().promptTokens())
                .isGreaterThan(first.usage().orElseThrow().promptTokens());
    }

    @Test
    void openAiStreamFramesToolCallDeltasAsOpenAiDoes() {
        ChatCompletion whole = openai.chat().completions().create(weatherQuestion()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
        var expected = whole.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
        Map<Long, StringBuilder> arguments = new HashMap<>();
        Map<Long, String> names = new HashMap<>();
        List<String> finish = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(weatherQuestion()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> {
                c.delta().toolCalls().orElse(List.of()).forEach(d -> {
                    if (d.id().isPresent()) {
                        // The first delta of a call names it; later ones only add argument text.
                        assertThat(d.function().flatMap(f -> f.name())).isPresent();
                        names.put(d.index(), d.function().orElseThrow().name().orElseThrow());
                    }
                    d.function().flatMap(f -> f.arguments()).ifPresent(a ->
                            arguments.computeIfAbsent(d.index(), i -> new StringBuilder()).append(a));
                });
                c.finishReason().ifPresent(r -> finish.add(r.asString()));
            }));
        }
        assertThat(finish).containsExactly("tool_calls");
        assertThat(names.get(0L)).isEqualTo(expected.function().name());
        assertThat(arguments.get(0L).toString()).isEqualTo(expected.function().arguments());
    }

    @Test
    void namedToolChoiceForcesThatTool() throws Exception {
        String body = """
                {"model": "acme/tiny", "max_tokens": 96, "temperature": 0,
                 "messages": [{"role": "user", "content": "Convert 3 km"}],
                 "tools": [
                   {"type": "function", "function": {"name": "weather", "parameters": {"type": "object",
                     "properties": {"city": {"type": "string", "maxLength": 12}}, "required": ["city"]}}},
                   {"type": "function", "function": {"name": "convert", "parameters": {"type": "object",
                     "properties": {"km": {"type": "integer", "minimum": 0, "maximum": 100},
                                    "unit": {"enum": ["mi", "ft"]}},
                     "required": ["km", "unit"], "additionalProperties": false}}}],
                 "tool_choice": {"type": "function", "function": {"name": "convert"}}}""";
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode call = json(r).at("/choices/0/message/tool_calls/0");
        assertThat(call.path("type").asText()).isEqualTo("function");
        assertThat(call.at("/function/name").asText()).isEqualTo("convert");
        JsonNode arguments = Json.mapper().readTree(call.at("/function/arguments").asText());
        assertThat(arguments.path("km").asInt(-1)).isBetween(0, 100);
        assertThat(arguments.path("unit").asText()).isIn("mi", "ft");
        assertThat(json(r).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void aCallCutByTheTokenLimitEndsWithLength() {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "max_tokens": 5, "temperature": 0, "tool_choice": "required",
                 "messages": [{"role": "user", "content": "Weather?"}],
                 "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(json(r).at("/usage/completion_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void legacyFunctionsAreAnsweredInTheLegacyShape() {
        String body = """
                {"model": "acme/tiny", "max_tokens": 64, "temperature": 0,
                 "messages": [{"role": "user", "content": "Weather?"}],
                 "functions": [{"name": "weather", "parameters": {"type": "object",
                   "properties": {"city": {"enum": ["Oslo", "Lima"]}}, "required": ["city"]}}],
                 "function_call": {"name": "weather"}}""";
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).at("/choices/0/message/function_call/name").asText()).isEqualTo("weather");
        assertThat(json(r).at("/choices/0/message/tool_calls").isMissingNode()).isTrue();
        assertThat(json(r).at("/choices/0/finish_reason").asText()).isEqualTo("function_call");
    }

    @Test
    void responsesApiRoundTripWithFunctionCallItems() throws Exception {
        FunctionTool tool = FunctionTool.builder().name("lookup").strict(true)
                .parameters(FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
                        .putAdditionalProperty("properties", com.openai.core.JsonValue.from(Map.of("id",
                                Map.of("type", "integer", "minimum", 1, "maximum", 9))))
                        .putAdditionalProperty("required", com.openai.core.JsonValue.from(List.of("id")))
                        .putAdditionalProperty("additionalProperties", com.openai.core.JsonValue.from(false))
                        .build()).build();
        Response first = openai.responses().create(ResponseCreateParams.builder().model(TINY).input("Find item")
                .addTool(tool).toolChoice(com.openai.models.responses.ToolChoiceOptions.REQUIRED).parallelToolCalls(false)
                .maxOutputTokens(64).temperature(0.0).build());
        ResponseFunctionToolCall call = first.output().stream().flatMap(i -> i.functionCall().stream()).findFirst()
                .orElseThrow();
        assertThat(call.name()).isEqualTo("lookup");
        assertThat(Json.mapper().readTree(call.arguments()).path("id").asInt()).isBetween(1, 9);

        List<ResponseInputItem> input = new ArrayList<>();
        input.add(ResponseInputItem.ofEasyInputMessage(com.openai.models.responses.EasyInputMessage.builder()
                .role(com.openai.models.responses.EasyInputMessage.Role.USER).content("Find item").build()));
        input.add(ResponseInputItem.ofFunctionCall(call));
        input.add(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                .callId(call.callId()).output("{\"found\": true}").build()));
        Response answer = openai.responses().create(ResponseCreateParams.builder().model(TINY)
                .input(ResponseCreateParams.Input.ofResponse(input)).addTool(tool).maxOutputTokens(6).temperature(0.0)
                .build());
        assertThat(answer.output()).anySatisfy(i -> assertThat(i.isMessage()).isTrue());
        assertThat(answer.usage().orElseThrow().inputTokens()).isGreaterThan(first.usage().orElseThrow().inputTokens());
    }

    private static ToolConfiguration bedrockTools(ToolChoice choice) {
        return ToolConfiguration.builder()
                .tools(Tool.fromToolSpec(ToolSpecification.builder().name("get_weather").description("The weather")
                        .inputSchema(ToolInputSchema.fromJson(Document.fromMap(Map.of(
                                "type", Document.fromString("object"),
                                "properties", Document.fromMap(Map.of("city", Document.fromMap(Map.of(
                                        "type", Document.fromString("string"),
                                        "enum", Document.fromList(List.of(Document.fromString("Oslo"),
                                                Document.fromString("Lima"))))))),
                                "required", Document.fromList(List.of(Document.fromString("city")))))))
                        .build()))
                .toolChoice(choice).build();
    }

    private static Message user(String text) {
        return Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText(text)).build();
    }

    @Test
    void bedrockConverseRoundTripFromToolUseToToolResultToAnswer() {
        ConverseResponse first = bedrock.converse(c -> c.modelId(TINY).messages(user("Weather in Lima?"))
                .toolConfig(bedrockTools(ToolChoice.fromAny(AnyToolChoice.builder().build())))
                .inferenceConfig(i -> i.maxTokens(96).temperature(0f)));
        assertThat(first.stopReason()).isEqualTo(StopReason.TOOL_USE);
        ToolUseBlock use = first.output().message().content().stream().map(ContentBlock::toolUse)
                .filter(java.util.Objects::nonNull).findFirst().orElseThrow();
        assertThat(use.name()).isEqualTo("get_weather");
        assertThat(use.input().asMap().get("city").asString()).isIn("Oslo", "Lima");

        ConverseResponse answer = bedrock.converse(c -> c.modelId(TINY)
                .messages(user("Weather in Lima?"), first.output().message(),
                        Message.builder().role(ConversationRole.USER).content(ContentBlock.fromToolResult(
                                ToolResultBlock.builder().toolUseId(use.toolUseId())
                                        .content(ToolResultContentBlock.fromText("24 C, sunny")).build())).build())
                .toolConfig(bedrockTools(ToolChoice.fromAuto(a -> { })))
                .inferenceConfig(i -> i.maxTokens(8).temperature(0f)));
        assertThat(BedrockConverseApiTest.promptTokens(answer.usage()))
                .isGreaterThan(BedrockConverseApiTest.promptTokens(first.usage()));
        assertThat(answer.output().message().content()).isNotEmpty();
    }

    @Test
    void bedrockConverseStreamSendsTheToolUseAsItsOwnBlock() throws Exception {
        ConverseResponse whole = bedrock.converse(c -> c.modelId(TINY).messages(user("Weather?"))
                .toolConfig(bedrockTools(ToolChoice.fromAny(AnyToolChoice.builder().build())))
                .inferenceConfig(i -> i.maxTokens(96).temperature(0f)));
        ToolUseBlock expected = whole.output().message().content().stream().map(ContentBlock::toolUse)
                .filter(java.util.Objects::nonNull).findFirst().orElseThrow();
        ConcurrentLinkedQueue<ConverseStreamOutput> events = new ConcurrentLinkedQueue<>();
        bedrockAsync.converseStream(ConverseStreamRequest.builder().modelId(TINY).messages(user("Weather?"))
                        .toolConfig(bedrockTools(ToolChoice.fromAny(AnyToolChoice.builder().build())))
                        .inferenceConfig(i -> i.maxTokens(96).temperature(0f)).build(),
                ConverseStreamResponseHandler.builder().subscriber(events::add).build()).join();
        StringBuilder input = new StringBuilder();
        String[] name = new String[1];
        String[] stop = new String[1];
        for (ConverseStreamOutput e : events) {
            switch (e.sdkEventType()) {
                case CONTENT_BLOCK_START -> name[0] = ((software.amazon.awssdk.services.bedrockruntime.model
                        .ContentBlockStartEvent) e).start().toolUse().name();
                case CONTENT_BLOCK_DELTA -> {
                    var delta = ((software.amazon.awssdk.services.bedrockruntime.model.ContentBlockDeltaEvent) e).delta();
                    if (delta.toolUse() != null) {
                        input.append(delta.toolUse().input());
                    }
                }
                case MESSAGE_STOP -> stop[0] = ((software.amazon.awssdk.services.bedrockruntime.model.MessageStopEvent) e)
                        .stopReasonAsString();
                default -> { }
            }
        }
        assertThat(name[0]).isEqualTo("get_weather");
        assertThat(stop[0]).isEqualTo("tool_use");
        assertThat(Json.mapper().readTree(input.toString()).path("city").asText())
                .isEqualTo(expected.input().asMap().get("city").asString());
    }
}
