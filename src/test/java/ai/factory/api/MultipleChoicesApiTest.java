package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Several choices in one request (OpenAI's {@code n} on chat and completions, and a completions {@code prompt}
 * array) on the real llama.cpp engine, through the official OpenAI Java client: indexes as OpenAI numbers them,
 * usage summed with each prompt counted once, choices generated concurrently and admitted all or none.
 */
@ServerTest
class MultipleChoicesApiTest {
    /** parallel 4, context 512, 64 waiting. */
    static final String TINY = "acme/tiny";
    /** One slot, room for two waiting, and a context a generation takes many seconds to fill. */
    static final String NARROW = "acme/tiny-narrow";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;
    static String narrowId;

    /** What structured output is asked for in. */
    public static class Forecast {
        @JsonPropertyDescription("the city")
        public City city;

        public boolean rain;
    }

    public enum City { PARIS, OSLO, LIMA }

    @BeforeAll
    static void start() {
        Path gguf = TestModels.tinyLlama();
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, gguf, "\"parallel\": 4, \"context\": 512, \"queue\": 64");
        narrowId = factory.deployGguf(NARROW, gguf, "\"parallel\": 1, \"context\": 131072, \"queue\": 2");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static ChatCompletionCreateParams.Builder chat(String text, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(TINY).addUserMessage(text).maxCompletionTokens(maxTokens)
                .temperature(0.0);
    }

    private static CompletionCreateParams.Builder complete(long maxTokens) {
        return CompletionCreateParams.builder().model(TINY).maxTokens(maxTokens).temperature(0.0);
    }

    private static List<String> texts(ChatCompletion c) {
        return c.choices().stream().map(ch -> ch.message().content().orElseThrow()).toList();
    }

    private static List<String> texts(Completion c) {
        return c.choices().stream().map(CompletionChoice::text).toList();
    }

    @Test
    void chatAtTemperatureZeroAnswersNEqualChoicesIndexedFromZero() {
        ChatCompletion one = openai.chat().completions().create(chat("Tell me about sovereign AI.", 12).build());
        ChatCompletion three = openai.chat().completions().create(chat("Tell me about sovereign AI.", 12).n(3).build());

        assertThat(three.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L, 2L);
        String text = one.choices().getFirst().message().content().orElseThrow();
        assertThat(text).isNotEmpty();
        assertThat(texts(three)).containsOnly(text).hasSize(3);
        assertThat(three.choices()).allSatisfy(c -> assertThat(c.finishReason())
                .isEqualTo(one.choices().getFirst().finishReason()));
        // The prompt counts once, however many choices it has; every choice's tokens count.
        var usage = three.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(one.usage().orElseThrow().promptTokens());
        assertThat(usage.completionTokens()).isEqualTo(3 * one.usage().orElseThrow().completionTokens());
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
    }

    @Test
    void chatStreamInterleavesChoicesEachWithItsIndexAndFinishThenOneUsageChunk() {
        ChatCompletion whole = openai.chat().completions().create(chat("Count with me", 16).n(3).build());
        Map<Long, StringBuilder> texts = new TreeMap<>();
        Map<Long, List<String>> finishes = new TreeMap<>();
        Set<Long> roles = new HashSet<>();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(chat("Count with me", 16)
                .n(3).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunks.add(chunk);
                assertThat(chunk.choices()).hasSizeLessThanOrEqualTo(1);
                chunk.choices().forEach(c -> {
                    c.delta().role().ifPresent(r -> roles.add(c.index()));
                    c.delta().content().ifPresent(t -> texts.computeIfAbsent(c.index(), i -> new StringBuilder()).append(t));
                    c.finishReason().ifPresent(f -> finishes.computeIfAbsent(c.index(), i -> new ArrayList<>())
                            .add(f.asString()));
                });
            });
        }
        assertThat(roles).containsExactlyInAnyOrder(0L, 1L, 2L);
        assertThat(finishes).containsOnlyKeys(0L, 1L, 2L);
        finishes.forEach((index, f) -> assertThat(f).as("choice %d", index)
                .containsExactly(whole.choices().get(index.intValue()).finishReason().asString()));
        assertThat(texts.values()).extracting(StringBuilder::toString).containsExactlyElementsOf(texts(whole));
        // The usage chunk comes last, alone, with the whole call's counts.
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens())
                .isEqualTo(whole.usage().orElseThrow().completionTokens());
        assertThat(chunks.getLast().usage().orElseThrow().promptTokens())
                .isEqualTo(whole.usage().orElseThrow().promptTokens());
        assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> assertThat(c.usage()).isEmpty());
    }

    @Test
    void sampledChoicesDifferAndASeedMakesEachReproducible() {
        ChatCompletionCreateParams unseeded = chat("Surprise me", 16).temperature(1.0).n(3).build();
        assertThat(new HashSet<>(texts(openai.chat().completions().create(unseeded)))).hasSizeGreaterThan(1);

        ChatCompletionCreateParams seeded = chat("Surprise me", 16).temperature(1.0).n(2).seed(42).build();
        List<String> first = texts(openai.chat().completions().create(seeded));
        assertThat(first.get(0)).isNotEqualTo(first.get(1));
        assertThat(texts(openai.chat().completions().create(seeded))).isEqualTo(first);
        // Choice i samples with seed + i: each is the single answer at that seed.
        for (int i = 0; i < 2; i++) {
            assertThat(texts(openai.chat().completions().create(chat("Surprise me", 16).temperature(1.0).seed(42 + i)
                    .build()))).as("choice %d", i).containsExactly(first.get(i));
        }
    }

    @Test
    void promptArrayTimesNGivesAChoicePerPromptAndNIndexedAsOpenAiDoes() {
        Completion paris = openai.completions().create(complete(8).prompt("The capital of France is").build());
        Completion oslo = openai.completions().create(complete(8).prompt("Oslo lies by the").build());

        Completion both = openai.completions().create(complete(8)
                .promptOfArrayOfStrings(List.of("The capital of France is", "Oslo lies by the")).n(2).build());

        assertThat(both.choices()).extracting(CompletionChoice::index).containsExactly(0L, 1L, 2L, 3L);
        String a = paris.choices().getFirst().text();
        String b = oslo.choices().getFirst().text();
        assertThat(a).isNotEqualTo(b);
        assertThat(texts(both)).containsExactly(a, a, b, b);
        var usage = both.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(paris.usage().orElseThrow().promptTokens()
                + oslo.usage().orElseThrow().promptTokens());
        assertThat(usage.completionTokens()).isEqualTo(2 * (paris.usage().orElseThrow().completionTokens()
                + oslo.usage().orElseThrow().completionTokens()));
    }

    @Test
    void tokenIdPromptsAloneAndInArraysAnswerAsTheirSingleCalls() {
        List<Long> first = List.of(1L, 450L, 7483L);
        List<Long> second = List.of(1L, 15043L, 29892L, 3186L);
        String a = openai.completions().create(complete(6).promptOfArrayOfTokens(first).build()).choices().getFirst().text();
        String b = openai.completions().create(complete(6).promptOfArrayOfTokens(second).build()).choices().getFirst().text();

        Completion arrays = openai.completions().create(complete(6).promptOfArrayOfTokenArrays(List.of(first, second)).build());
        assertThat(arrays.choices()).extracting(CompletionChoice::index).containsExactly(0L, 1L);
        assertThat(texts(arrays)).containsExactly(a, b);
        assertThat(arrays.usage().orElseThrow().promptTokens()).isEqualTo(first.size() + second.size());

        Completion twice = openai.completions().create(complete(6).promptOfArrayOfTokens(first).n(2).build());
        assertThat(texts(twice)).containsExactly(a, a);
        assertThat(twice.usage().orElseThrow().promptTokens()).isEqualTo(first.size());
    }

    @Test
    void streamedPromptArrayEchoesEachPromptUnderItsIndexAndEndsEveryChoice() {
        Completion whole = openai.completions().create(complete(6).promptOfArrayOfStrings(List.of("Hello", "Goodbye"))
                .n(2).echo(true).build());
        assertThat(texts(whole).get(0)).startsWith("Hello");
        assertThat(texts(whole).get(3)).startsWith("Goodbye");

        Map<Long, StringBuilder> texts = new TreeMap<>();
        Map<Long, Integer> finishes = new TreeMap<>();
        List<Completion> chunks = new ArrayList<>();
        try (StreamResponse<Completion> s = openai.completions().createStreaming(complete(6)
                .promptOfArrayOfStrings(List.of("Hello", "Goodbye")).n(2).echo(true)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(c -> {
                    texts.computeIfAbsent(c.index(), i -> new StringBuilder()).append(c.text());
                    c._finishReason().asKnown().ifPresent(f -> finishes.merge(c.index(), 1, Integer::sum));
                });
            });
        }
        assertThat(texts.values()).extracting(StringBuilder::toString).containsExactlyElementsOf(texts(whole));
        assertThat(finishes).isEqualTo(Map.of(0L, 1, 1L, 1, 2L, 1, 3L, 1));
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens())
                .isEqualTo(whole.usage().orElseThrow().completionTokens());
    }

    @Test
    void everyChoiceIsConstrainedByTheResponseFormatAndByRequiredTools() throws Exception {
        var structured = openai.chat().completions().create(ChatCompletionCreateParams.builder().model(TINY)
                .addUserMessage("Forecast for Paris?").responseFormat(Forecast.class).maxCompletionTokens(96)
                .temperature(1.0).n(3).build());
        assertThat(structured.choices()).hasSize(3).allSatisfy(c -> {
            Forecast f = c.message().content().orElseThrow();
            assertThat(f.city).isNotNull();
        });

        ChatCompletion calls = openai.chat().completions().create(chat("Weather in Oslo?", 96).addTool(Forecast.class)
                .parallelToolCalls(false).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).temperature(1.0)
                .n(2).build());
        assertThat(calls.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L);
        assertThat(calls.choices()).allSatisfy(c -> {
            assertThat(c.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
            var call = c.message().toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(call.function().name()).isEqualTo("Forecast");
            assertThat(call.function().arguments(Forecast.class).city).isNotNull();
        });
        assertThat(calls.choices().get(0).message().toolCalls().orElseThrow().getFirst().asFunction().id())
                .isNotEqualTo(calls.choices().get(1).message().toolCalls().orElseThrow().getFirst().asFunction().id());
    }

    @Test
    void theAuditRecordsOneRecordWithTheSummedCounts() {
        HttpResponse<String> r = factory.send(factory.request("/v1/completions", factory.adminKey())
                .header("Content-Type", "application/json").header("X-Request-Id", "choices-audit-1")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"model": "acme/tiny", "prompt": ["One", "Two words"], "n": 3, "max_tokens": 5,
                         "temperature": 0}""")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).path("choices")).hasSize(6);

        JsonNode record = factory.auditRecord("choices-audit-1", factory.adminKey());
        assertThat(record.path("promptTokens").asLong()).isEqualTo(json(r).at("/usage/prompt_tokens").asLong())
                .isPositive();
        assertThat(record.path("completionTokens").asLong()).isEqualTo(json(r).at("/usage/completion_tokens").asLong())
                .isPositive();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            chat n zero              | /v1/chat/completions | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "n": 0} | n | between 1 and 16
            chat n above the most    | /v1/chat/completions | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "n": 17} | n | between 1 and 16
            chat n as text           | /v1/chat/completions | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "n": "2"} | n | must be an integer
            chat n fractional        | /v1/chat/completions | {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "n": 1.5} | n | must be an integer
            n zero                   | /v1/completions | {"model": "acme/tiny", "prompt": "x", "n": 0} | n | between 1 and 16
            n as text                | /v1/completions | {"model": "acme/tiny", "prompt": "x", "n": "two"} | n | must be an integer
            prompt empty array       | /v1/completions | {"model": "acme/tiny", "prompt": []} | prompt | not an empty array
            prompt a number          | /v1/completions | {"model": "acme/tiny", "prompt": 5} | prompt | not a number
            prompt an object         | /v1/completions | {"model": "acme/tiny", "prompt": {"text": "x"}} | prompt | not an object
            strings then a token     | /v1/completions | {"model": "acme/tiny", "prompt": ["a", 1]} | prompt | prompt[1] must be a string
            tokens then a string     | /v1/completions | {"model": "acme/tiny", "prompt": [1, "a"]} | prompt | prompt[1] must be a token id
            token arrays then text   | /v1/completions | {"model": "acme/tiny", "prompt": [[1, 2], "a"]} | prompt | prompt[1] must be an array of token ids
            empty token array        | /v1/completions | {"model": "acme/tiny", "prompt": [[1, 2], []]} | prompt | prompt[1] must not be an empty array
            token of wrong type      | /v1/completions | {"model": "acme/tiny", "prompt": [[1, 2.5]]} | prompt | prompt[0][1] must be a token id
            negative token           | /v1/completions | {"model": "acme/tiny", "prompt": [1, -4]} | prompt | prompt[1] must be a token id
            token off the vocabulary | /v1/completions | {"model": "acme/tiny", "prompt": [1, 99999999]} | prompt | prompt[1] must be a token id between 0 and
            nested off vocabulary    | /v1/completions | {"model": "acme/tiny", "prompt": [[1], [1, 99999999]]} | prompt | prompt[1][1] must be a token id between 0 and
            empty prompt in array    | /v1/completions | {"model": "acme/tiny", "prompt": ["a", ""]} | prompt | 'prompt[1]' is empty
            prompts times n too many | /v1/completions | {"model": "acme/tiny", "prompt": ["a", "b", "c", "d", "e"], "n": 16} | n | at most 64 choices
            more than the queue      | /v1/completions | {"model": "acme/tiny-narrow", "prompt": "a", "n": 3} | n | queues at most 2
            """)
    void badChoiceAndPromptRequestsAre400NamingTheField(String name, String path, String body, String param,
                                                        String message) {
        HttpResponse<String> r = factory.post(path, factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(json(r).at("/error/param").asText()).as(r.body()).isEqualTo(param);
        assertThat(json(r).at("/error/message").asText()).contains(message);
        assertThat(openai.completions().create(complete(2).prompt("still here").build()).choices()).hasSize(1);
    }

    private static long load(String field) {
        return json(factory.get("/api/v1/deployments/" + narrowId, factory.adminKey())).path(field).asLong();
    }

    private static HttpRequest endless(int n) {
        return factory.request("/v1/completions", factory.adminKey()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + NARROW + "\",\"prompt\":\"x\","
                        + "\"max_tokens\":100000,\"ignore_eos\":true,\"stream\":true,\"n\":" + n + "}")).build();
    }

    @Test
    void aQueueWithoutRoomForEveryChoiceRefusesTheWholeRequestAndStartsNone() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> load("activeRequests") == 0 && load("waitingRequests") == 0);
        HttpClient http = HttpClient.newHttpClient();
        try (InputStream running = http.send(endless(1), HttpResponse.BodyHandlers.ofInputStream()).body()) {
            TestFactory.readUntil(running, "\"text\"", 2);
            try (InputStream waiting = http.send(endless(1), HttpResponse.BodyHandlers.ofInputStream()).body()) {
                await().atMost(Duration.ofSeconds(30)).until(() -> load("waitingRequests") == 1);

                // One place left in the queue, two choices asked for: neither is queued.
                HttpResponse<String> refused = factory.post("/v1/completions", factory.adminKey(),
                        "{\"model\":\"" + NARROW + "\",\"prompt\":\"x\",\"max_tokens\":2,\"n\":2}");
                assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
                assertThat(refused.headers().firstValue("Retry-After")).isPresent();
                assertThat(json(refused).at("/error/type").asText()).isEqualTo("rate_limit_error");
                assertThat(load("waitingRequests")).isEqualTo(1);
                assertThat(load("activeRequests")).isEqualTo(1);
                assertThat(waiting).isNotNull();
            }
        }
    }

    @Test
    void aDepartedClientCancelsEveryChoiceRunningOrWaiting() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> load("activeRequests") == 0 && load("waitingRequests") == 0);
        HttpClient http = HttpClient.newHttpClient();
        InputStream events = http.send(endless(2), HttpResponse.BodyHandlers.ofInputStream()).body();
        TestFactory.readUntil(events, "\"text\"", 2);
        // One slot: one choice generates, the other waits for it.
        assertThat(load("activeRequests")).isEqualTo(1);
        assertThat(load("waitingRequests")).isEqualTo(1);
        events.close();

        await().atMost(Duration.ofSeconds(30)).until(() -> load("activeRequests") == 0 && load("waitingRequests") == 0);
        HttpResponse<String> next = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\":\"" + NARROW + "\",\"prompt\":\"y\",\"max_tokens\":2,\"n\":2}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
        assertThat(json(next).path("choices")).hasSize(2);
    }
}
