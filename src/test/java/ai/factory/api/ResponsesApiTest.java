package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** OpenAI's Responses API ({@code POST /v1/responses}) on the real engine, through the official Java client. */
@ServerTest
class ResponsesApiTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static ResponseCreateParams params(int maxTokens) {
        return ResponseCreateParams.builder().model(TINY).instructions("Answer briefly.").input("Hello there")
                .maxOutputTokens(maxTokens).temperature(0.0).build();
    }

    private static String text(Response r) {
        StringBuilder out = new StringBuilder();
        for (ResponseOutputItem item : r.output()) {
            item.message().ifPresent(m -> m.content().forEach(c -> c.outputText().ifPresent(t -> out.append(t.text()))));
        }
        return out.toString();
    }

    @Test
    void answersWithAMessageItemAndUsage() {
        Response r = openai.responses().create(params(8));
        assertThat(r.id()).startsWith("resp_");
        assertThat(r.output()).hasSize(1);
        assertThat(text(r)).isNotEmpty();
        assertThat(r.usage()).hasValueSatisfying(u -> {
            assertThat(u.inputTokens()).isPositive();
            assertThat(u.outputTokens()).isBetween(1L, 8L);
            assertThat(u.totalTokens()).isEqualTo(u.inputTokens() + u.outputTokens());
        });
        // Eight tokens of a random model rarely end its turn: the limit cut it.
        if (r.usage().orElseThrow().outputTokens() == 8) {
            assertThat(r.status()).contains(ResponseStatus.INCOMPLETE);
            assertThat(r.incompleteDetails()).hasValueSatisfying(d -> assertThat(d.reason()).isPresent());
        }
    }

    @Test
    void streamsTypedEventsWhoseTextEqualsTheWholeAnswer() {
        String whole = text(openai.responses().create(params(12)));
        List<String> types = new ArrayList<>();
        StringBuilder deltas = new StringBuilder();
        List<Response> completed = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = openai.responses().createStreaming(params(12))) {
            stream.stream().forEach(e -> {
                e.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
                e.completed().ifPresent(c -> completed.add(c.response()));
                e.incomplete().ifPresent(c -> completed.add(c.response()));
                types.add(e.created().isPresent() ? "created" : e.outputTextDelta().isPresent() ? "delta"
                        : e.completed().isPresent() || e.incomplete().isPresent() ? "end" : "other");
            });
        }
        assertThat(deltas.toString()).isEqualTo(whole);
        assertThat(types.getFirst()).isEqualTo("created");
        assertThat(types.getLast()).isEqualTo("end");
        assertThat(completed).singleElement().satisfies(r -> assertThat(text(r)).isEqualTo(whole));
    }

    @Test
    void rawStreamNamesEachEventAndNumbersThemInOrder() throws Exception {
        HttpResponse<String> r = factory.post("/v1/responses", factory.adminKey(), "{\"model\": \"" + TINY
                + "\", \"input\": [{\"role\": \"user\", \"content\": [{\"type\": \"input_text\", \"text\": \"hi\"}]}],"
                + " \"max_output_tokens\": 3, \"stream\": true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        String[] frames = r.body().split("\n\n");
        for (int i = 0; i < frames.length; i++) {
            String[] lines = frames[i].split("\n");
            assertThat(lines[0]).startsWith("event: ");
            var data = ai.factory.Json.mapper().readTree(lines[1].substring("data: ".length()));
            assertThat(data.path("type").asText()).isEqualTo(lines[0].substring("event: ".length()));
            assertThat(data.path("sequence_number").asInt()).isEqualTo(i);
        }
        assertThat(r.body()).doesNotContain("[DONE]");
    }

    @Test
    void unknownModelIsNotFound() {
        assertThatThrownBy(() -> openai.responses().create(ResponseCreateParams.builder().model("acme/none")
                .input("x").build())).isInstanceOf(NotFoundException.class);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            missing input         | {"model": "acme/tiny"}                                               | 'input' is required
            hosted tool           | {"model": "acme/tiny", "input": "x", "tools": [{"type": "web_search"}]} | only function tools
            image part            | {"model": "acme/tiny", "input": [{"role": "user", "content": [{"type": "input_image"}]}]} | only text parts
            unknown item          | {"model": "acme/tiny", "input": [{"type": "computer_call"}]}          | is not supported
            bad format            | {"model": "acme/tiny", "input": "x", "text": {"format": {"type": "xml"}}} | 'text.format.type' must be
            output tokens as text | {"model": "acme/tiny", "input": "x", "max_output_tokens": "many"}    | 'max_output_tokens' must be an integer
            """)
    void badRequestsAre400InOpenAisShape(String name, String body, String message) {
        HttpResponse<String> r = factory.post("/v1/responses", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains(message);
        assertThat(json(r).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(text(openai.responses().create(params(2)))).isNotNull();
    }

    @Test
    void responsesAreKeptOnlyWhereTheProjectLogsContent() {
        // The default project does not log content: nothing is kept, and nothing can be continued or read back.
        Response r = openai.responses().create(params(2));
        assertThat(r._additionalProperties().get("store")).isEqualTo(com.openai.core.JsonValue.from(false));
        assertThatThrownBy(() -> openai.responses().retrieve(r.id())).isInstanceOf(NotFoundException.class);
        HttpResponse<String> continued = factory.post("/v1/responses", factory.adminKey(), "{\"model\": \"" + TINY
                + "\", \"input\": \"and?\", \"previous_response_id\": \"" + r.id() + "\"}");
        assertThat(continued.statusCode()).as(continued.body()).isEqualTo(404);
        assertThat(json(continued).at("/error/param").asText()).isEqualTo("previous_response_id");
        assertThat(json(continued).at("/error/message").asText()).contains("logs the content");
        assertThat(json(continued).at("/error/code").isNull()).isTrue();
    }

    @Test
    void aKeptResponseIsContinuedReadBackAndDestroyedWithinItsProject() {
        factory.projectWithModel("kept", TestModels.tinyLlama());
        assertThat(factory.send(factory.request("/api/v1/projects/kept", factory.adminKey())
                .header("Content-Type", "application/json")
                .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString("{\"contentLogging\": true}")))
                .statusCode()).isEqualTo(200);
        OpenAIClient kept = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1")
                .apiKey(factory.createKey("kept-app", "kept", "invoker")).maxRetries(0).build();
        OpenAIClient other = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1")
                .apiKey(factory.createKey("other-app", "default", "invoker")).maxRetries(0).build();

        Response first = kept.responses().create(ResponseCreateParams.builder().model("kept/tiny").input("Hello")
                .maxOutputTokens(4).temperature(0.0).build());
        assertThat(first._additionalProperties().get("store")).isEqualTo(com.openai.core.JsonValue.from(true));
        Response read = kept.responses().retrieve(first.id());
        assertThat(read.id()).isEqualTo(first.id());
        assertThat(text(read)).isEqualTo(text(first));

        Response next = kept.responses().create(ResponseCreateParams.builder().model("kept/tiny").input("And then?")
                .previousResponseId(first.id()).maxOutputTokens(4).temperature(0.0).build());
        assertThat(next.previousResponseId()).contains(first.id());
        // The earlier turn and its answer are in the prompt.
        assertThat(next.usage().orElseThrow().inputTokens()).isGreaterThan(first.usage().orElseThrow().inputTokens()
                + first.usage().orElseThrow().outputTokens());

        assertThatThrownBy(() -> other.responses().retrieve(first.id())).isInstanceOf(NotFoundException.class);
        kept.responses().delete(first.id());
        assertThatThrownBy(() -> kept.responses().retrieve(first.id())).isInstanceOf(NotFoundException.class);
        assertThat(kept.responses().retrieve(next.id()).id()).isEqualTo(next.id());
    }

    @Test
    void clientErrorsOfTheSdkAreTyped() {
        assertThatThrownBy(() -> openai.responses().create(ResponseCreateParams.builder().model(TINY).input("x")
                .temperature(7.0).build())).isInstanceOf(BadRequestException.class).hasMessageContaining("temperature");
    }
}
