package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The OpenAPI documents: served without a key, valid OpenAPI 3.1, covering every route of their surface with its
 * contract, and describing what the live server really answers.
 */
@ServerTest
class OpenApiTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static JsonNode document(String path) throws Exception {
        HttpResponse<String> r = factory.send(HttpRequest.newBuilder(java.net.URI.create(factory.url() + path)).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/v1/openapi.json", "/v1/openapi.json"})
    void documentIsValidOpenApiAndServedWithoutAKey(String path) throws Exception {
        JsonNode doc = document(path);
        assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");
        SwaggerParseResult parsed = new OpenAPIV3Parser().readContents(doc.toString());
        assertThat(parsed.getMessages()).isEmpty();
        assertThat(parsed.getOpenAPI().getPaths()).isNotEmpty();
    }

    @Test
    void everyRouteOfASurfaceHasAContractAndIsDocumented() throws Exception {
        JsonNode factoryDoc = document("/api/v1/openapi.json");
        JsonNode openAiDoc = document("/v1/openapi.json");
        List<String> missing = new ArrayList<>();
        for (ApiServer.RouteInfo route : factory.factory().routes()) {
            if (route.isPublic() || !(route.path().startsWith("/api/v1/") || route.path().startsWith("/v1/"))) {
                continue;
            }
            JsonNode doc = route.path().startsWith("/v1/") ? openAiDoc : factoryDoc;
            String path = route.path().replace('<', '{').replace('>', '}');
            if (route.contract().isEmpty() || doc.path("paths").path(path).path(route.method().toLowerCase()).isMissingNode()) {
                missing.add(route.method() + " " + route.path());
            }
        }
        assertThat(missing).as("routes without a contract or missing from their document").isEmpty();
        assertThat(factory.factory().routes().stream().flatMap(r -> r.contract().stream()).map(Contract::summary))
                .allSatisfy(summary -> assertThat(summary).isNotBlank());
    }

    /** A validator for one schema of a document, its references resolved within the document. */
    private static Schema schema(JsonNode doc, String pointer) {
        ObjectNode root = Json.mapper().createObjectNode();
        root.put("$ref", "#" + pointer);
        root.set("components", doc.path("components"));
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(root);
    }

    private static String responseSchema(JsonNode doc, String path, String method, String media) {
        return doc.at("/paths/" + path.replace("/", "~1") + "/" + method + "/responses/200/content/"
                + media.replace("/", "~1") + "/schema/$ref").asText().substring(1);
    }

    @Test
    void liveAnswersOfTheOpenAiSurfaceMatchTheirSchemas() throws Exception {
        JsonNode doc = document("/v1/openapi.json");
        Map<String, String> bodies = Map.of(
                "/v1/chat/completions", "{\"model\": \"acme/tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 3, \"logprobs\": true, \"top_logprobs\": 2}",
                "/v1/completions", "{\"model\": \"acme/tiny\", \"prompt\": \"hi\", \"max_tokens\": 3, \"logprobs\": 2}",
                "/v1/responses", "{\"model\": \"acme/tiny\", \"input\": \"hi\", \"max_output_tokens\": 3}");
        for (var e : bodies.entrySet()) {
            HttpResponse<String> r = factory.post(e.getKey(), factory.adminKey(), e.getValue());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            Schema schema = schema(doc, responseSchema(doc, e.getKey(), "post", "application/json"));
            assertThat(schema.validate(json(r))).as(e.getKey() + ": " + r.body()).isEmpty();

            String streamed = e.getValue().replaceFirst("}$", ", \"stream\": true}");
            HttpResponse<String> s = factory.post(e.getKey(), factory.adminKey(), streamed);
            Schema event = schema(doc, responseSchema(doc, e.getKey(), "post", "text/event-stream"));
            for (String frame : s.body().split("\n\n")) {
                String data = frame.substring(frame.indexOf("data: ") + "data: ".length());
                if (!data.equals("[DONE]")) {
                    assertThat(event.validate(Json.mapper().readTree(data))).as(e.getKey() + " event " + data).isEmpty();
                }
            }
        }
    }

    @Test
    void liveAnswersOfTheManagementApiMatchTheirSchemas() throws Exception {
        JsonNode doc = document("/api/v1/openapi.json");
        int checked = 0;
        for (var path : (Iterable<Map.Entry<String, JsonNode>>) doc.path("paths")::fields) {
            JsonNode get = path.getValue().path("get");
            String ref = get.at("/responses/200/content/application~1json/schema/$ref").asText("");
            if (ref.isEmpty() || path.getKey().contains("{")) {
                continue;
            }
            HttpResponse<String> r = factory.send(factory.request(path.getKey(), factory.adminKey()).GET());
            assertThat(r.statusCode()).as(path.getKey() + ": " + r.body()).isEqualTo(200);
            assertThat(schema(doc, ref.substring(1)).validate(json(r))).as(path.getKey() + ": " + r.body()).isEmpty();
            checked++;
        }
        assertThat(checked).isPositive();
    }
}
