package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code /v1/embeddings} through the official OpenAI Java client against a running factory. */
@ServerTest
class EmbeddingsApiTest {
    private static final String MODEL = "builtin/all-minilm-l6-v2";

    @TempDir
    static Path home;

    static TestFactory factory;
    static OpenAIClient openai;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        openai = client(factory.adminKey());
    }

    @AfterAll
    static void stop() {
        factory.close();
    }

    private static OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(key).maxRetries(0).build();
    }

    private static List<Float> embed(String text) {
        CreateEmbeddingResponse r = openai.embeddings().create(EmbeddingCreateParams.builder()
                .model(MODEL).input(text).build());
        return r.data().getFirst().embedding();
    }

    private static double cosine(List<Float> a, List<Float> b) {
        double dot = 0;
        for (int i = 0; i < a.size(); i++) {
            dot += a.get(i) * b.get(i);
        }
        return dot; // both are unit vectors
    }

    @Test
    void officialClientGetsUnitVectorsThatCaptureMeaning() {
        List<Float> guitar = embed("A man is playing a guitar.");
        List<Float> strumming = embed("Someone is strumming a guitar.");
        List<Float> stocks = embed("The stock market fell sharply today.");

        assertThat(guitar).hasSize(384);
        double norm = Math.sqrt(guitar.stream().mapToDouble(f -> f * f).sum());
        assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(cosine(guitar, strumming)).isGreaterThan(cosine(guitar, stocks) + 0.3);
    }

    @Test
    void batchesKeepOrderAndCountTokens() {
        CreateEmbeddingResponse r = openai.embeddings().create(EmbeddingCreateParams.builder()
                .model(MODEL).inputOfArrayOfStrings(List.of("hello world", "second", "third one here")).build());
        assertThat(r.data()).extracting(e -> e.index()).containsExactly(0L, 1L, 2L);
        assertThat(r.model()).isEqualTo(MODEL);
        assertThat(r.usage().promptTokens()).isEqualTo(4 + 3 + 5);
        assertThat(r.data().getFirst().embedding()).isEqualTo(embed("hello world"));
    }

    @Test
    void base64AndFloatEncodingsCarryTheSameVector() {
        JsonNode f = json(factory.post("/v1/embeddings", factory.adminKey(),
                "{\"model\":\"" + MODEL + "\",\"input\":\"hi\",\"encoding_format\":\"float\"}"));
        JsonNode b = json(factory.post("/v1/embeddings", factory.adminKey(),
                "{\"model\":\"" + MODEL + "\",\"input\":\"hi\",\"encoding_format\":\"base64\"}"));
        byte[] raw = java.util.Base64.getDecoder().decode(b.at("/data/0/embedding").asText());
        java.nio.FloatBuffer floats = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        assertThat(floats.remaining()).isEqualTo(384);
        for (int i = 0; i < 384; i++) {
            assertThat(floats.get(i)).isEqualTo(f.at("/data/0/embedding/" + i).floatValue());
        }
    }

    @Test
    void modelsListShowsTheDeployedEmbeddingModel() {
        assertThat(openai.models().list().data()).extracting(m -> m.id()).contains(MODEL);
        assertThat(openai.models().retrieve(MODEL).ownedBy()).isEqualTo("default");
        assertThatThrownBy(() -> openai.models().retrieve("acme/nothing")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void missingWrongAndRevokedKeysAre401InOpenAiShape() {
        HttpResponse<String> none = factory.post("/v1/embeddings", null, "{}");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(json(none).at("/error/type").asText()).isEqualTo("authentication_error");
        assertThat(json(none).at("/error/message").asText()).contains("Authorization: Bearer");

        assertThatThrownBy(() -> client("fk_wrong").embeddings().create(EmbeddingCreateParams.builder()
                .model(MODEL).input("x").build())).isInstanceOf(UnauthorizedException.class);

        JsonNode created = json(factory.post("/api/v1/keys", factory.adminKey(), "{\"name\":\"temp\"}"));
        String secret = created.path("secret").asText();
        assertThat(client(secret).embeddings().create(EmbeddingCreateParams.builder().model(MODEL).input("x").build())
                .data()).hasSize(1);
        assertThat(factory.send(factory.request("/api/v1/keys/" + created.path("id").asText(), factory.adminKey())
                .DELETE()).statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> client(secret).embeddings().create(EmbeddingCreateParams.builder()
                .model(MODEL).input("x").build())).isInstanceOf(UnauthorizedException.class)
                .hasMessageContaining("not valid");

        HttpResponse<String> basic = factory.send(factory.request("/v1/models", null)
                .header("Authorization", "Basic YWRtaW46YWRtaW4=").GET());
        assertThat(basic.statusCode()).isEqualTo(401);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            malformed JSON            | {"model": "builtin/all-minilm-l6-v2", "input": | 400 | not valid JSON
            not an object             | ["hello"]                                        | 400 | must be a JSON object
            empty body                | ` `                                              | 400 | body is empty
            missing model             | {"input": "hello"}                               | 400 | 'model' is required
            model of wrong type       | {"model": 7, "input": "hello"}                   | 400 | 'model' must be a string
            missing input             | {"model": "builtin/all-minilm-l6-v2"}            | 400 | 'input' is required
            input of wrong type       | {"model": "builtin/all-minilm-l6-v2", "input": {"a": 1}} | 400 | must be a string or an array
            empty input array         | {"model": "builtin/all-minilm-l6-v2", "input": []} | 400 | empty array
            empty string              | {"model": "builtin/all-minilm-l6-v2", "input": ""} | 400 | is empty
            token arrays              | {"model": "builtin/all-minilm-l6-v2", "input": [1, 2]} | 400 | token arrays are not supported
            mixed array               | {"model": "builtin/all-minilm-l6-v2", "input": ["a", null]} | 400 | input[1] must be a string
            bad encoding              | {"model": "builtin/all-minilm-l6-v2", "input": "a", "encoding_format": "hex"} | 400 | encoding_format
            unsupported dimensions    | {"model": "builtin/all-minilm-l6-v2", "input": "a", "dimensions": 128} | 400 | returns 384 dimensions
            unknown model             | {"model": "acme/unknown", "input": "hello"}      | 404 | does not exist or is not deployed
            invalid model name        | {"model": "no-namespace", "input": "hello"}      | 400 | invalid model name
            """)
    void badInputIsAClearClientErrorAndTheServerKeepsServing(String name, String body, int status, String message) {
        HttpResponse<String> r = factory.post("/v1/embeddings", factory.adminKey(), body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode error = json(r).path("error");
        assertThat(error.path("message").asText()).contains(message);
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.has("param")).isTrue();
        assertThat(embed("still serving")).hasSize(384);
    }

    @Test
    void inputBeyondTheTokenLimitIsRejected() {
        String longText = "word ".repeat(600);
        HttpResponse<String> r = factory.post("/v1/embeddings", factory.adminKey(),
                "{\"model\":\"" + MODEL + "\",\"input\":[\"short\",\"" + longText + "\"]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(json(r).at("/error/message").asText()).contains("input[1]").contains("512");
        assertThat(json(r).at("/error/param").asText()).isEqualTo("input");
        assertThat(embed("still serving")).hasSize(384);
    }

    @Test
    void oversizedBodyIs413() {
        String huge = "{\"model\":\"" + MODEL + "\",\"input\":\"" + "a".repeat(17 << 20) + "\"}";
        HttpResponse<String> r = factory.post("/v1/embeddings", factory.adminKey(), huge);
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(embed("still serving")).hasSize(384);
    }

    static JsonNode json(HttpResponse<String> r) {
        try {
            return Json.mapper().readTree(r.body());
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }
}
