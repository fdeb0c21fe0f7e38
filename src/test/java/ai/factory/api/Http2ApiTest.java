package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestFactory;
import ai.factory.TestModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 in clear text beside HTTP/1.1 on the one port: a client that asks to upgrade ({@code Upgrade: h2c}, as the
 * JDK's client does) gets HTTP/2, answers and streams included. (Prior knowledge, as the AWS SDKs' async clients
 * speak it, is what the Bedrock stream tests run on: their async client keeps its default transport.)
 */
class Http2ApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static HttpClient http2;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf("acme/tiny", TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256, \"threads\": 2");
        http2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return http2.send(HttpRequest.newBuilder(URI.create(factory.url() + path))
                .header("Authorization", "Bearer " + factory.adminKey()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void upgradesToHttp2AndAnswersAndStreamsOverIt() throws Exception {
        HttpResponse<String> models = http2.send(HttpRequest.newBuilder(URI.create(factory.url() + "/v1/models"))
                .header("Authorization", "Bearer " + factory.adminKey()).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(200);
        assertThat(models.version()).isEqualTo(HttpClient.Version.HTTP_2);

        HttpResponse<String> whole = post("/v1/chat/completions", "{\"model\": \"acme/tiny\", \"max_tokens\": 4, "
                + "\"temperature\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(whole.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(json(whole).at("/choices/0/message/content").asText()).isNotEmpty();

        HttpResponse<String> streamed = post("/v1/chat/completions", "{\"model\": \"acme/tiny\", \"max_tokens\": 4, "
                + "\"temperature\": 0, \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(streamed.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(streamed.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(streamed.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");

        HttpResponse<String> refused = post("/v1/chat/completions", "{\"model\": \"acme/tiny\", \"messages\": []}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(json(refused).at("/error/type").asText()).isEqualTo("invalid_request_error");
    }
}
