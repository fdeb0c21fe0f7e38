package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.StructuredChatCompletionCreateParams;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Structured output ({@code response_format} json_object and json_schema) through the official client, on the
 * random-weight test model: grammar-constrained sampling makes even it answer with JSON that validates.
 */
@ServerTest
class StructuredOutputApiTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;

    /** What the structured-output helper derives a schema from. */
    public static class Forecast {
        @JsonPropertyDescription("the city")
        public City city;

        @JsonPropertyDescription("degrees")
        public long temperature;

        public boolean rain;
    }

    public enum City { PARIS, OSLO, LIMA }

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static StructuredChatCompletionCreateParams<Forecast> forecast() {
        return ChatCompletionCreateParams.builder().model(TINY).addUserMessage("Forecast for Paris?")
                .responseFormat(Forecast.class).maxCompletionTokens(128).temperature(0.0).build();
    }

    @Test
    void javaClassComesBackAsAnInstanceOfIt() {
        StructuredChatCompletion<Forecast> c = openai.chat().completions().create(forecast());
        Forecast f = c.choices().getFirst().message().content().orElseThrow();
        assertThat(f.city).isNotNull();
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void streamedJsonEqualsTheWholeAnswer() throws Exception {
        String whole = openai.chat().completions().create(forecast().rawParams()).choices().getFirst().message()
                .content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(forecast().rawParams())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
        }
        assertThat(streamed.toString()).isEqualTo(whole);
        assertThat(Json.mapper().readTree(whole).path("city").asText()).isIn("PARIS", "OSLO", "LIMA");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 42})
    void schemaOutputValidatesAtAnySeed(int seed) throws Exception {
        String schema = """
                {"type": "object", "additionalProperties": false, "required": ["id", "tags", "when", "owner"],
                 "properties": {
                   "id": {"type": "string", "format": "uuid"},
                   "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 1, "maxItems": 3},
                   "when": {"type": "string", "format": "date"},
                   "owner": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/person"}]}},
                 "$defs": {"person": {"type": "object", "additionalProperties": false, "required": ["age"],
                   "properties": {"age": {"type": "integer", "minimum": 0, "maximum": 120}}}}}""";
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "messages": [{"role": "user", "content": "a record"}], "max_tokens": 200,
                 "temperature": 1, "seed": %d,
                 "response_format": {"type": "json_schema", "json_schema": {"name": "record", "strict": true,
                   "schema": %s}}}""".formatted(seed, schema));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        JsonNode output = Json.mapper().readTree(json(r).at("/choices/0/message/content").asText());
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12, b -> b
                .schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()))
                .getSchema(Json.mapper().readTree(schema));
        assertThat(validator.validate(output)).as(output.toString()).isEmpty();
    }

    @Test
    void jsonObjectModeAnswersWithAnObject() throws Exception {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "messages": [{"role": "user", "content": "json please"}], "max_tokens": 200,
                 "temperature": 0, "response_format": {"type": "json_object"}}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String content = json(r).at("/choices/0/message/content").asText();
        if (json(r).at("/choices/0/finish_reason").asText().equals("stop")) {
            assertThat(Json.mapper().readTree(content).isObject()).as(content).isTrue();
        } else {
            assertThat(content).startsWith("{");
        }
    }

    @Test
    void cutByMaxTokensEndsWithLength() {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 3,
                 "temperature": 0, "response_format": {"type": "json_schema", "json_schema": {"name": "n",
                   "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(json(r).at("/choices/0/message/content").asText()).startsWith("{");
    }

    @Test
    void responsesApiTextFormatIsEnforcedToo() throws Exception {
        HttpResponse<String> r = factory.post("/v1/responses", factory.adminKey(), """
                {"model": "acme/tiny", "input": "a number", "max_output_tokens": 64, "temperature": 0,
                 "text": {"format": {"type": "json_schema", "name": "n", "strict": true, "schema": {"type": "object",
                   "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["n"],
                   "additionalProperties": false}}}}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode output = Json.mapper().readTree(json(r).at("/output/0/content/0/text").asText());
        assertThat(output.path("n").asInt()).isBetween(1, 5);
    }

    @Test
    void unsupportedSchemaIsA400NamingThePathAndKeyword() {
        HttpResponse<String> r = factory.post("/v1/chat/completions", factory.adminKey(), """
                {"model": "acme/tiny", "messages": [{"role": "user", "content": "x"}],
                 "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object",
                   "properties": {"m": {"type": "object", "patternProperties": {"^a": {"type": "string"}}}}}}}}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("#/properties/m").contains("patternProperties");
        assertThat(json(r).at("/error/param").asText()).isEqualTo("response_format.json_schema.schema");
        assertThat(List.of(200)).contains(factory.post("/v1/chat/completions", factory.adminKey(),
                "{\"model\": \"acme/tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2}")
                .statusCode());
    }
}
