package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Chat completions and completions on the real llama.cpp engine, through the official OpenAI Java client. */
@ServerTest
class ChatApiTest {
    /** parallel 4, context 256 per sequence, at most 4 waiting. */
    static final String TINY = "acme/tiny";
    /**
     * parallel 1 and a context far longer than the tiny model needs time to fill (a generation of it takes
     * many seconds), for slot and queue behaviour.
     */
    static final String SINGLE = "acme/tiny-single";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;
    static String singleId;

    @BeforeAll
    static void start() {
        Path gguf = TestModels.tinyLlama();
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        factory.deployGguf(TINY, gguf, "\"parallel\": 4, \"context\": 256, \"queue\": 64");
        singleId = factory.deployGguf(SINGLE, gguf, "\"parallel\": 1, \"context\": 131072, \"queue\": 1");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static ChatCompletionCreateParams.Builder chat(String model, String text, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage(text).maxCompletionTokens(maxTokens)
                .temperature(0.0);
    }

    private static String streamed(ChatCompletionCreateParams params) {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(params)) {
            s.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        }
        return text.toString();
    }

    @Test
    void greedyChatIsIdenticalRepeatedAndStreamed() {
        ChatCompletionCreateParams params = chat(TINY, "Tell me about sovereign AI.", 24).build();
        ChatCompletion first = openai.chat().completions().create(params);
        ChatCompletion second = openai.chat().completions().create(params);
        String text = first.choices().getFirst().message().content().orElseThrow();

        assertThat(text).isNotEmpty();
        assertThat(second.choices().getFirst().message().content()).hasValue(text);
        assertThat(streamed(params)).isEqualTo(text);
        assertThat(first.usage().orElseThrow().completionTokens()).isEqualTo(24);
        assertThat(first.usage().orElseThrow().promptTokens()).isGreaterThan(5);
        assertThat(first.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(first.model()).isEqualTo(TINY);
    }

    @Test
    void streamEndsWithFinishReasonAndUsageWhenAsked() {
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(
                chat(TINY, "Hi", 5).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                        .build())) {
            s.stream().forEach(chunks::add);
        }
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isPresent();
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens()).isEqualTo(5);
    }

    @Test
    void stopStringEndsGenerationAndIsNeverEmitted() {
        String full = openai.chat().completions().create(chat(TINY, "Count with me", 40).build())
                .choices().getFirst().message().content().orElseThrow();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        String expected = full.substring(0, full.indexOf(stop));

        ChatCompletion stopped = openai.chat().completions().create(chat(TINY, "Count with me", 40).stop(stop).build());
        assertThat(stopped.choices().getFirst().message().content()).hasValue(expected);
        assertThat(stopped.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(streamed(chat(TINY, "Count with me", 40).stop(stop).build())).isEqualTo(expected);
    }

    @Test
    void completionsTakeTextOrTokensAndEcho() {
        Completion c = openai.completions().create(CompletionCreateParams.builder().model(TINY)
                .prompt("The capital of France is").maxTokens(8).temperature(0.0).echo(true).build());
        String text = c.choices().getFirst().text();
        assertThat(text).startsWith("The capital of France is");
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(8);

        HttpResponse<String> tokens = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\":\"" + TINY + "\",\"prompt\":[1, 450, 7483],\"max_tokens\":4,\"temperature\":0,\"logprobs\":2}");
        assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
        JsonNode lp = json(tokens).at("/choices/0/logprobs");
        assertThat(lp.path("tokens").size()).isEqualTo(4);
        lp.path("token_logprobs").forEach(v -> assertThat(v.asDouble()).isLessThanOrEqualTo(0.0));
        assertThat(lp.path("top_logprobs").get(0).size()).isEqualTo(2);
    }

    @Test
    void sixteenConcurrentStreamsOnFourSlotsAllMatchTheirSoloAnswer() throws Exception {
        List<ChatCompletionCreateParams> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            requests.add(chat(TINY, "Question number " + i, 12).build());
        }
        List<String> solo = requests.stream().map(p -> openai.chat().completions().create(p)
                .choices().getFirst().message().content().orElseThrow()).toList();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> together = requests.stream().map(p -> pool.submit(() -> streamed(p))).toList();
            for (int i = 0; i < 16; i++) {
                assertThat(together.get(i).get()).as("request %d", i).isEqualTo(solo.get(i));
            }
        }
    }

    @Test
    void fullQueueAnswers429WithRetryAfter() throws Exception {
        // SINGLE has one slot and room for one waiting request: with both taken, the next request is refused.
        String body = "{\"model\":\"" + SINGLE + "\",\"prompt\":\"x\",\"max_tokens\":100000,\"ignore_eos\":true,"
                + "\"stream\":true}";
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest endless = factory.request("/v1/completions", factory.adminKey())
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try (InputStream generating = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
            // Several events mean it holds the slot (the first event is sent while a request still waits).
            TestFactory.readUntil(generating, "\"text\"", 2);
            try (InputStream waiting = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
                HttpResponse<String> refused = factory.post("/v1/completions", factory.adminKey(),
                        "{\"model\":\"" + SINGLE + "\",\"prompt\":\"x\",\"max_tokens\":2}");
                assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
                assertThat(refused.headers().firstValue("Retry-After")).isPresent();
                assertThat(json(refused).at("/error/type").asText()).isEqualTo("rate_limit_error");
                assertThat(waiting).isNotNull();
            }
        }
    }

    @Test
    void disconnectedClientFreesItsSlotForTheNextRequest() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String endless = "{\"model\":\"" + SINGLE + "\",\"prompt\":\"x\",\"max_tokens\":100000,\"ignore_eos\":true,"
                + "\"stream\":true}";
        HttpResponse<InputStream> r = http.send(factory.request("/v1/completions", factory.adminKey())
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(endless)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        InputStream events = r.body();
        TestFactory.readUntil(events, "\"text\"", 2);
        assertThat(json(factory.get("/api/v1/deployments/" + singleId, factory.adminKey())).path("activeRequests").asInt())
                .isEqualTo(1);
        events.close();

        // 100000 tokens would hold the only slot for minutes; the cancelled generation frees it at once.
        await().atMost(Duration.ofSeconds(20)).until(() -> json(factory.get("/api/v1/deployments/" + singleId,
                factory.adminKey())).path("activeRequests").asInt() == 0);
        HttpResponse<String> next = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\":\"" + SINGLE + "\",\"prompt\":\"y\",\"max_tokens\":2}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    }

    @Test
    void maxTokensBeyondTheContextIs400NamingTheLimit() {
        // TINY holds 256 tokens per sequence; OpenAI refuses a max_tokens its model cannot produce, naming the limit.
        for (String[] c : new String[][] {
                {"/v1/chat/completions", "{\"model\": \"acme/tiny\", \"max_tokens\": 1000000000, \"messages\": "
                        + "[{\"role\": \"user\", \"content\": \"hi\"}]}", "max_tokens"},
                {"/v1/completions", "{\"model\": \"acme/tiny\", \"max_tokens\": 257, \"prompt\": \"hi\"}", "max_tokens"},
                {"/v1/responses", "{\"model\": \"acme/tiny\", \"max_output_tokens\": 300, \"input\": \"hi\"}",
                        "max_output_tokens"}}) {
            HttpResponse<String> r = factory.post(c[0], factory.adminKey(), c[1]);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(json(r).at("/error/param").asText()).isEqualTo(c[2]);
            assertThat(json(r).at("/error/message").asText()).contains("'" + c[2] + "' is too large").contains("256");
        }
        // The limit itself is taken; the context's end stops the output (finish_reason length).
        HttpResponse<String> edge = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"max_tokens\": 255, \"prompt\": \"hi\", \"ignore_eos\": true}");
        assertThat(edge.statusCode()).as(edge.body()).isEqualTo(200);
        assertThat(json(edge).at("/choices/0/finish_reason").asText()).isEqualTo("length");
    }

    @Test
    void promptLongerThanTheContextIs400BeforeDecoding() {
        assertThatThrownBy(() -> openai.chat().completions().create(chat(TINY, "word ".repeat(400), 4).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("256");
        HttpResponse<String> raw = factory.post("/v1/chat/completions", factory.adminKey(), "{\"model\": \"acme/tiny\", "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"" + "word ".repeat(400) + "\"}]}");
        assertThat(raw.statusCode()).isEqualTo(400);
        assertThat(json(raw).at("/error/code").asText()).isEqualTo("context_length_exceeded");
        assertThat(json(raw).at("/error/param").asText()).isEqualTo("messages");
        assertThat(openai.chat().completions().create(chat(TINY, "ok", 2).build()).choices()).hasSize(1);
    }

    @Test
    void unknownModelIs404AndEmbeddingModelIs400() {
        assertThatThrownBy(() -> openai.chat().completions().create(chat("acme/none", "hi", 2).build()))
                .isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.chat().completions().create(chat("builtin/all-minilm-l6-v2", "hi", 2).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("embedding model");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            malformed JSON        | {"model": "acme/tiny", "messages": [                               | not valid JSON
            missing messages      | {"model": "acme/tiny"}                                             | 'messages' is required
            empty messages        | {"model": "acme/tiny", "messages": []}                             | non-empty array
            bad role              | {"model": "acme/tiny", "messages": [{"role": "wizard", "content": "x"}]} | role must be one of
            image part            | {"model": "acme/tiny", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]} | only text parts
            temperature too high  | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "temperature": 5} | temperature
            temperature as text   | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"} | must be a number
            n above the most      | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "n": 17} | 'n' must be between 1 and 16
            zero max tokens       | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0} | at least 1
            stop of wrong type    | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "stop": 7} | 'stop' must be
            unknown format        | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}} | 'response_format.type' must be
            schema missing        | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}} | needs a 'name' and a 'schema'
            tool of unknown type  | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "retrieval"}]} | tools[0] must be
            tool without name     | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]} | tools[0].function.name is required
            choice of absent tool | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "a"}}], "tool_choice": {"type": "function", "function": {"name": "b"}}} | not among the tools
            bad tool choice       | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "tool_choice": "always"} | 'tool_choice' must be
            tool result no id     | {"model": "acme/tiny", "messages": [{"role": "tool", "content": "42"}]} | tool_call_id is required
            null user content     | {"model": "acme/tiny", "messages": [{"role": "user", "content": null}]} | messages[0].content is required
            message not an object | {"model": "acme/tiny", "messages": [5]} | 'messages[0]' must be an object, not a number
            max tokens fractional | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5} | 'max_tokens' must be an integer
            flag as text          | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "logprobs": "yes"} | 'logprobs' must be true or false
            stream options text   | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "stream": true, "stream_options": "yes"} | 'stream_options' must be an object
            logit bias not id     | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"abc": 100}} | 'logit_bias' keys are token ids
            logit bias too strong | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": 101}} | between -100 and 100
            logit bias off vocab  | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"99999999": 1}} | outside this model's vocabulary
            logit bias not object | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "logit_bias": 5} | 'logit_bias' must be an object
            """)
    void badChatRequestsAre400AndTheServerKeepsServing(String name, String body, String message) {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains(message);
        assertThat(openai.chat().completions().create(chat(TINY, "still here", 2).build()).choices()).hasSize(1);
    }

    @Test
    void logitBiasIsHonoured() {
        java.util.function.IntFunction<String> complete = max -> {
            HttpResponse<String> r = factory.post("/v1/completions", factory.adminKey(), "{\"model\": \"acme/tiny\", "
                    + "\"prompt\": \"Hello\", \"max_tokens\": " + max + ", \"temperature\": 0, \"logit_bias\": {\"3304\": 100}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return json(r).at("/choices/0/text").asText();
        };
        HttpResponse<String> free = factory.post("/v1/completions", factory.adminKey(), "{\"model\": \"acme/tiny\", "
                + "\"prompt\": \"Hello\", \"max_tokens\": 3, \"temperature\": 0}");
        String one = complete.apply(1);
        // A bias of 100 leaves the model no other choice: that token, again and again.
        assertThat(one).isNotEmpty();
        assertThat(complete.apply(3)).isEqualTo(one.repeat(3)).isNotEqualTo(json(free).at("/choices/0/text").asText());
    }

    @Test
    void bodyThatIsNotUtf8IsRefused() {
        byte[] body = "{\"model\": \"acme/tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"x?\"}]}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        body[body.length - 5] = (byte) 0xC3; // a lead byte with no continuation
        HttpResponse<String> r = factory.send(factory.request("/v1/chat/completions", factory.adminKey())
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("not valid JSON").contains("UTF-8");
        assertThat(json(r).at("/error/type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void ggufLlamaCppRefusesFailsItsDeploymentWithTheReasonAndOthersKeepServing() throws Exception {
        // A well-formed GGUF (the registry accepts it) whose architecture llama.cpp does not know.
        byte[] gguf = Files.readAllBytes(TestModels.tinyLlama());
        byte[] key = "general.architecture".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int at = indexOf(gguf, key) + key.length + 4 + 8; // value type (u32) and string length (u64)
        assertThat(new String(gguf, at, 5, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("llama");
        System.arraycopy("zzzzz".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, gguf, at, 5);
        Path strange = home.resolve("strange.gguf");
        Files.write(strange, gguf);

        HttpResponse<String> imported = factory.post("/api/v1/models/acme/strange/versions", factory.adminKey(),
                "{\"path\": \"" + strange + "\"}");
        assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
        HttpResponse<String> d = factory.post("/api/v1/deployments", factory.adminKey(), "{\"model\": \"acme/strange\"}");
        String id = json(d).path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> json(factory.get("/api/v1/deployments/" + id,
                factory.adminKey())).path("state").asText().equals("failed"));
        assertThat(json(factory.get("/api/v1/deployments/" + id, factory.adminKey())).path("reason").asText())
                .isNotBlank();
        HttpResponse<String> refused = factory.post("/v1/chat/completions", factory.adminKey(),
                "{\"model\":\"acme/strange\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(json(refused).at("/error/message").asText()).contains("failed");
        assertThat(openai.chat().completions().create(chat(TINY, "still here", 2).build()).choices()).hasSize(1);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
