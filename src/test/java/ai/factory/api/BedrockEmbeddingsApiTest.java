package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.api.BedrockSdk.AwsKey;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.AccessDeniedException;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelRequest;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelResponse;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.ValidationException;

/**
 * Bedrock's InvokeModel on an embedding model with Amazon Titan Text Embeddings V2's and Cohere Embed's bodies,
 * through the AWS SDK's synchronous client as a user builds it (and boto3 where it is installed): the vectors are
 * those {@code /v1/embeddings} gives, the call is authorized, audited and counted as that one is, and bad bodies are
 * ValidationExceptions.
 */
@ServerTest
class BedrockEmbeddingsApiTest {
    static final String EMBEDDING = "builtin/all-minilm-l6-v2";
    static final String TINY = BedrockConverseApiTest.TINY;
    static final int DIMENSIONS = 384;

    @TempDir
    static Path home;

    static TestFactory factory;
    static AwsKey key;
    static BedrockRuntimeClient bedrock;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"context\": 256");
        key = BedrockSdk.createAwsKey(factory, "embedder");
        bedrock = BedrockSdk.defaultRuntime(factory, key);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, factory);
    }

    private static InvokeModelResponse call(BedrockRuntimeClient client, String model, String body) {
        return client.invokeModel(InvokeModelRequest.builder().modelId(model).contentType("application/json")
                .accept("application/json").body(SdkBytes.fromUtf8String(body)).build());
    }

    private static JsonNode invoke(String body) {
        InvokeModelResponse r = call(bedrock, EMBEDDING, body);
        assertThat(r.contentType()).startsWith("application/json");
        return BedrockInvokeApiTest.parse(r.body().asUtf8String());
    }

    /** What {@code /v1/embeddings} answers for these texts. */
    private static JsonNode openAi(List<String> texts) {
        HttpResponse<String> r = factory.post("/v1/embeddings", factory.adminKey(), Json.mapper().createObjectNode()
                .put("model", EMBEDDING).set("input", Json.mapper().valueToTree(texts)).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static void assertSameVector(JsonNode actual, JsonNode expected) {
        assertThat(actual.size()).isEqualTo(DIMENSIONS);
        assertThat(floats(actual)).containsExactly(floats(expected), within(1e-6f));
    }

    private static double norm(float[] v) {
        double sum = 0;
        for (float f : v) {
            sum += f * f;
        }
        return Math.sqrt(sum);
    }

    @Test
    void titanBodyGivesTheVectorAndTokensOfOpenAiEmbeddings() {
        String text = "A man is playing a guitar.";
        InvokeModelResponse r = call(bedrock, EMBEDDING, "{\"inputText\": \"" + text + "\"}");
        JsonNode answer = BedrockInvokeApiTest.parse(r.body().asUtf8String());
        JsonNode expected = openAi(List.of(text));

        assertSameVector(answer.path("embedding"), expected.at("/data/0/embedding"));
        assertThat(answer.path("inputTextTokenCount").asInt()).isPositive()
                .isEqualTo(expected.at("/usage/prompt_tokens").asInt());
        // Titan's answer always carries the vector by type, floats when no type was asked for.
        assertThat(answer.path("embeddingsByType").path("float")).isEqualTo(answer.path("embedding"));
        assertThat(answer.path("embeddingsByType").has("binary")).isFalse();
        assertThat(r.sdkHttpResponse().firstMatchingHeader("X-Amzn-Bedrock-Input-Token-Count"))
                .contains(Integer.toString(answer.path("inputTextTokenCount").asInt()));
        assertThat(r.sdkHttpResponse().firstMatchingHeader("X-Amzn-Bedrock-Invocation-Latency")).isPresent();
    }

    @Test
    void titanTakesTheModelsOwnDimensionsAndGivesUnitVectors() {
        JsonNode normalized = invoke("{\"inputText\": \"Someone is strumming a guitar.\", \"dimensions\": 384, "
                + "\"normalize\": true}");
        JsonNode asIs = invoke("{\"inputText\": \"Someone is strumming a guitar.\", \"normalize\": false}");

        assertThat(normalized.path("embedding").size()).isEqualTo(DIMENSIONS);
        assertThat(norm(floats(normalized.path("embedding")))).isCloseTo(1.0, within(1e-4));
        // The model's own output already has unit length: there is nothing for normalize=false to undo.
        assertThat(floats(asIs.path("embedding"))).containsExactly(floats(normalized.path("embedding")), within(1e-6f));
    }

    @Test
    void titanBinaryIsOneDigitPerDimensionOneWherePositive() {
        JsonNode answer = invoke("{\"inputText\": \"The stock market fell sharply today.\", "
                + "\"embeddingTypes\": [\"binary\", \"float\"]}");
        float[] vector = floats(answer.path("embedding"));
        JsonNode bits = answer.path("embeddingsByType").path("binary");

        assertThat(bits.size()).isEqualTo(DIMENSIONS);
        for (int i = 0; i < DIMENSIONS; i++) {
            assertThat(bits.get(i).asInt()).as("dimension %d of %s", i, vector[i]).isEqualTo(vector[i] > 0 ? 1 : 0);
        }
        assertThat(answer.path("embeddingsByType").path("float")).isEqualTo(answer.path("embedding"));

        JsonNode binaryOnly = invoke("{\"inputText\": \"The stock market fell sharply today.\", "
                + "\"embeddingTypes\": [\"binary\"]}");
        assertThat(binaryOnly.path("embeddingsByType").path("binary")).isEqualTo(bits);
        assertThat(binaryOnly.path("embeddingsByType").has("float")).isFalse();
        assertThat(binaryOnly.path("embedding")).as("Titan's embedding is always the floats")
                .isEqualTo(answer.path("embedding"));
    }

    @Test
    void cohereBodyGivesOneVectorPerTextInOrder() {
        List<String> texts = List.of("hello world", "A man is playing a guitar.", "The stock market fell sharply today.");
        JsonNode answer = invoke("{\"texts\": " + Json.mapper().valueToTree(texts)
                + ", \"input_type\": \"search_document\"}");
        JsonNode expected = openAi(texts);

        assertThat(answer.path("response_type").asText()).isEqualTo("embeddings_floats");
        assertThat(answer.path("id").asText()).isNotBlank();
        assertThat(answer.path("texts")).isEqualTo(Json.mapper().valueToTree(texts));
        assertThat(answer.path("embeddings").size()).isEqualTo(3);
        for (int i = 0; i < 3; i++) {
            assertSameVector(answer.path("embeddings").get(i), expected.at("/data/" + i + "/embedding"));
        }
        // Cohere's input types prepend a prompt for Cohere's models; this model has none, so a query is a document.
        JsonNode query = invoke("{\"texts\": [\"hello world\"], \"input_type\": \"search_query\"}");
        assertSameVector(query.path("embeddings").get(0), expected.at("/data/0/embedding"));
    }

    @Test
    void cohereEmbeddingTypesGiveFloatsAndPackedSigns() {
        JsonNode answer = invoke("{\"texts\": [\"hello world\", \"second text\"], \"input_type\": \"clustering\", "
                + "\"embedding_types\": [\"float\", \"binary\", \"ubinary\"]}");

        assertThat(answer.path("response_type").asText()).isEqualTo("embeddings_by_type");
        JsonNode byType = answer.path("embeddings");
        assertThat(byType.path("float").size()).isEqualTo(2);
        for (int t = 0; t < 2; t++) {
            float[] vector = floats(byType.path("float").get(t));
            JsonNode ubinary = byType.path("ubinary").get(t);
            JsonNode binary = byType.path("binary").get(t);
            assertThat(ubinary.size()).isEqualTo(binary.size()).isEqualTo(DIMENSIONS / 8);
            for (int i = 0; i < DIMENSIONS; i++) {
                int bit = (ubinary.get(i / 8).asInt() >> (7 - i % 8)) & 1;
                assertThat(bit).as("text %d dimension %d of %s", t, i, vector[i]).isEqualTo(vector[i] > 0 ? 1 : 0);
            }
            for (int b = 0; b < DIMENSIONS / 8; b++) {
                assertThat(ubinary.get(b).asInt()).isBetween(0, 255);
                assertThat(binary.get(b).asInt()).isEqualTo(ubinary.get(b).asInt() - 128);
            }
        }

        JsonNode floatsOnly = invoke("{\"texts\": [\"hello world\"], \"input_type\": \"classification\", "
                + "\"embedding_types\": [\"float\"]}");
        assertThat(floatsOnly.path("response_type").asText()).isEqualTo("embeddings_by_type");
        assertThat(floatsOnly.path("embeddings").path("float").get(0)).isEqualTo(byType.path("float").get(0));
        assertThat(floatsOnly.path("embeddings").has("binary")).isFalse();
    }

    @Test
    void cohereTruncateDropsTheStartOrTheEndUntilTheTextFits() {
        // 700 one-token words, past the model's 512 tokens and within Cohere's 2048 characters.
        String long1 = "a ".repeat(700);
        String head = "the quick brown fox jumps over the lazy dog ";
        String tail = " the stock market fell sharply today";
        String tail2 = " a man is playing a guitar on the stage";

        assertThatThrownBy(() -> invoke("{\"texts\": [\"short\", \"" + long1 + "\"], \"input_type\": \"clustering\"}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("texts[1]").hasMessageContaining("512");

        // END keeps the beginning: texts that differ only past the cut embed alike.
        JsonNode end = invoke("{\"texts\": [\"" + long1 + tail + "\", \"" + long1 + tail2 + "\"], "
                + "\"input_type\": \"clustering\", \"truncate\": \"END\"}");
        assertThat(end.at("/embeddings/0")).isEqualTo(end.at("/embeddings/1"));
        // START keeps the end: texts that differ only before the cut embed alike.
        JsonNode start = invoke("{\"texts\": [\"" + head + long1 + "\", \"" + tail2 + long1 + "\", \"" + long1 + tail
                + "\"], \"input_type\": \"clustering\", \"truncate\": \"START\"}");
        assertThat(start.at("/embeddings/0")).isEqualTo(start.at("/embeddings/1"));
        assertThat(start.at("/embeddings/2")).isNotEqualTo(end.at("/embeddings/0"));
        assertThat(start.path("texts").get(0).asText()).as("the texts come back as sent").isEqualTo(head + long1);
    }

    @Test
    void callsAreAuditedWithTheirInputTokens() {
        InvokeModelResponse r = call(bedrock, EMBEDDING, "{\"inputText\": \"a secret sentence nobody may log\"}");
        JsonNode answer = BedrockInvokeApiTest.parse(r.body().asUtf8String());

        JsonNode rec = factory.auditRecord(r.responseMetadata().requestId(), factory.adminKey());
        assertThat(rec.path("principalName").asText()).isEqualTo("embedder");
        assertThat(rec.path("action").asText()).isEqualTo("invoke");
        assertThat(rec.path("detail").asText()).isEqualTo("POST /model/{modelId}/invoke");
        assertThat(rec.path("resource").asText()).isEqualTo("model=" + EMBEDDING);
        assertThat(rec.path("outcome").asText()).isEqualTo("success");
        assertThat(rec.path("promptTokens").asLong()).isEqualTo(answer.path("inputTextTokenCount").asLong())
                .isPositive();
        assertThat(rec.path("completionTokens").asLong()).isZero();
        assertThat(rec.toString()).doesNotContain("secret sentence");

        InvokeModelResponse cohere = call(bedrock, EMBEDDING,
                "{\"texts\": [\"one\", \"two three\"], \"input_type\": \"search_document\"}");
        JsonNode cohereRec = factory.auditRecord(cohere.responseMetadata().requestId(), factory.adminKey());
        assertThat(cohereRec.path("promptTokens").asLong()).isEqualTo(openAi(List.of("one", "two three"))
                .at("/usage/prompt_tokens").asLong());
        assertThat(cohere.sdkHttpResponse().firstMatchingHeader("X-Amzn-Bedrock-Input-Token-Count"))
                .contains(Long.toString(cohereRec.path("promptTokens").asLong()));
    }

    @Test
    void cedarPoliciesDecideAsOnEveryOtherRoute() {
        factory.post("/api/v1/projects", factory.adminKey(), "{\"name\": \"blocked\"}");
        HttpResponse<String> policy = factory.post("/api/v1/policies", factory.adminKey(), "{\"policy\": "
                + Json.mapper().valueToTree("forbid (principal, action == Action::\"invoke\", resource is Model) "
                + "when { principal.project == Project::\"blocked\" };") + "}");
        assertThat(policy.statusCode()).as(policy.body()).isEqualTo(201);
        JsonNode created = json(factory.post("/api/v1/keys", factory.adminKey(),
                "{\"name\": \"outsider\", \"aws\": true, \"role\": \"invoker\", \"project\": \"blocked\"}"));
        AwsKey outsider = new AwsKey(created.path("id").asText(), created.path("accessKeyId").asText(),
                created.path("secretAccessKey").asText());
        try (BedrockRuntimeClient client = BedrockSdk.defaultRuntime(factory, outsider)) {
            assertThatThrownBy(() -> call(client, EMBEDDING, "{\"inputText\": \"hello\"}"))
                    .isInstanceOf(AccessDeniedException.class);
            assertThatThrownBy(() -> call(client, EMBEDDING, "{\"texts\": [\"hello\"], \"input_type\": \"clustering\"}"))
                    .isInstanceOf(AccessDeniedException.class);
            // Refused before its body is looked at: a wrong body tells a caller who may not invoke nothing more.
            assertThatThrownBy(() -> call(client, EMBEDDING, "{\"prompt\": \"hello\"}"))
                    .isInstanceOf(AccessDeniedException.class);
        } finally {
            factory.send(factory.request("/api/v1/policies/" + json(policy).path("id").asText(), factory.adminKey())
                    .DELETE());
        }
    }

    @Test
    void badEmbeddingBodiesAreValidationExceptions() {
        record Case(String body, String message) {}
        for (Case c : List.of(
                new Case("{}", "Titan Text Embeddings"),
                new Case("{\"prompt\": \"hello\"}", "is an embedding model"),
                new Case("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "Cohere Embed"),
                new Case("{\"inputText\": \"a\", \"texts\": [\"b\"]}", "mixes"),
                new Case("{\"inputText\": null}", "'inputText' is required"),
                new Case("{\"inputText\": 5}", "'inputText' must be a string"),
                new Case("{\"inputText\": \"\"}", "'inputText' is empty"),
                new Case("{\"inputText\": \"" + "x".repeat(50_001) + "\"}", "at most 50000"),
                new Case("{\"inputText\": \"" + "a ".repeat(600) + "\"}", "'inputText' has"),
                new Case("{\"inputText\": \"hello\", \"dimensions\": 256}", "returns 384 dimensions"),
                new Case("{\"inputText\": \"hello\", \"dimensions\": 1024}", "cannot return 1024"),
                new Case("{\"inputText\": \"hello\", \"dimensions\": \"384\"}", "'dimensions' must be an integer"),
                new Case("{\"inputText\": \"hello\", \"normalize\": \"yes\"}", "'normalize' must be true or false"),
                new Case("{\"inputText\": \"hello\", \"embeddingTypes\": [\"int8\"]}", "'float' and 'binary'"),
                new Case("{\"inputText\": \"hello\", \"embeddingTypes\": []}", "'embeddingTypes' is empty"),
                new Case("{\"inputText\": \"hello\", \"embeddingTypes\": \"float\"}", "'embeddingTypes' must be an array"),
                new Case("{\"texts\": [], \"input_type\": \"search_query\"}", "'texts' is empty"),
                new Case("{\"texts\": \"hello\", \"input_type\": \"search_query\"}", "'texts' must be an array"),
                new Case("{\"texts\": [\"hello\", 3], \"input_type\": \"search_query\"}", "'texts[1]' must be a string"),
                new Case("{\"texts\": [\"hello\", null], \"input_type\": \"search_query\"}", "'texts[1]' must be a string"),
                new Case("{\"texts\": [\"hello\", \"\"], \"input_type\": \"search_query\"}", "texts[1] is empty"),
                new Case("{\"texts\": " + Json.mapper().valueToTree(java.util.Collections.nCopies(97, "a"))
                        + ", \"input_type\": \"search_query\"}", "at most 96"),
                new Case("{\"texts\": [\"" + "x".repeat(2049) + "\"], \"input_type\": \"search_query\"}",
                        "at most 2048"),
                new Case("{\"texts\": [\"hello\"]}", "'input_type' is required"),
                new Case("{\"input_type\": \"search_query\"}", "'texts' is required"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"searching\"}", "search_document"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": 1}", "'input_type' must be a string"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"clustering\", \"truncate\": \"MIDDLE\"}",
                        "NONE, START or END"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"clustering\", \"embedding_types\": [\"int8\"]}",
                        "'float', 'binary' and 'ubinary' are"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"clustering\", \"embedding_types\": [\"uint8\"]}",
                        "not served"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"clustering\", \"embedding_types\": [\"bits\"]}",
                        "not 'bits'"),
                new Case("{\"texts\": [\"hello\"], \"input_type\": \"clustering\", \"images\": [\"data:image/png;base64,AA\"]}",
                        "'images' are not supported"))) {
            assertThatThrownBy(() -> invoke(c.body())).as(c.body().substring(0, Math.min(80, c.body().length())))
                    .isInstanceOf(ValidationException.class).hasMessageContaining(c.message());
        }
    }

    @Test
    void embeddingBodiesOnATextModelNameTheBodiesItTakes() {
        assertThatThrownBy(() -> call(bedrock, TINY, "{\"inputText\": \"hello\"}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("generates text")
                .hasMessageContaining("Llama").hasMessageContaining("not Amazon Titan Text Embeddings");
        assertThatThrownBy(() -> call(bedrock, TINY, "{\"texts\": [\"hello\"], \"input_type\": \"clustering\"}"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("OpenAI chat")
                .hasMessageContaining("not Cohere Embed");
    }

    @Test
    void embeddingModelsAreNotStreamed() {
        try (BedrockRuntimeAsyncClient async = BedrockSdk.runtimeAsync(factory, key)) {
            assertThatThrownBy(() -> async.invokeModelWithResponseStream(InvokeModelWithResponseStreamRequest.builder()
                            .modelId(EMBEDDING).contentType("application/json")
                            .body(SdkBytes.fromUtf8String("{\"inputText\": \"hello\"}")).build(),
                    InvokeModelWithResponseStreamResponseHandler.builder()
                            .subscriber(InvokeModelWithResponseStreamResponseHandler.Visitor.builder().build())
                            .build()).join())
                    .isInstanceOf(CompletionException.class).hasCauseInstanceOf(ValidationException.class)
                    .hasMessageContaining("InvokeModelWithResponseStream");
        }
    }

    @Test
    void boto3InvokesWithTheTitanBody() throws Exception {
        boolean boto3 = Boto3ClientTest.python("import boto3");
        assumeTrue(boto3 || "true".equals(System.getenv("CI")), "python3 with boto3 is not installed");
        assertThat(boto3).as("python3 with boto3, which CI needs").isTrue();
        Path script = home.resolve("boto3_invoke_embeddings.py");
        try (InputStream in = BedrockEmbeddingsApiTest.class.getResourceAsStream("boto3_invoke_embeddings.py")) {
            Files.write(script, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString());
        pb.environment().put("FACTORY_ENDPOINT", factory.url());
        pb.environment().put("FACTORY_ACCESS_KEY_ID", key.accessKeyId());
        pb.environment().put("FACTORY_SECRET_ACCESS_KEY", key.secretAccessKey());
        pb.environment().put("FACTORY_MODEL", EMBEDDING);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();

        JsonNode r = Json.mapper().readTree(out);
        JsonNode expected = openAi(List.of("Embeddings turn text into vectors."));
        assertSameVector(r.path("embedding"), expected.at("/data/0/embedding"));
        assertThat(r.path("inputTextTokenCount").asInt()).isEqualTo(expected.at("/usage/prompt_tokens").asInt());
        assertThat(r.path("validationError").asText()).contains("384");
    }
}
