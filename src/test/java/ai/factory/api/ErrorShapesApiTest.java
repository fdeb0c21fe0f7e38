package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Errors outside the routes' own handling (no such path, a method the path does not take, a header block, URI or body
 * too large) answer in the error shape of the API the path belongs to: OpenAI's on {@code /v1}, AWS's on the Bedrock
 * paths, the factory's elsewhere. The raw client speaks HTTP/1.1 here on purpose: these are its framing limits.
 */
@ServerTest
class ErrorShapesApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static HttpClient http1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, TestFactory.BUILTIN);
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static HttpResponse<String> send(String method, String path, String body, String header) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(factory.url() + path))
                .header("Authorization", "Bearer " + factory.adminKey()).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (header != null) {
            b.header("X-Padding", header);
        }
        return http1.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            GET    | /v1/nope                          | 404 | openai  | -
            DELETE | /v1/chat/completions              | 405 | openai  | POST
            GET    | /model/acme%2Ftiny/converse        | 405 | bedrock | POST
            PUT    | /api/v1/projects                  | 405 | factory | GET, POST
            GET    | /api/v1/nothing-here              | 404 | factory | -
            GET    | /guardrails                       | 404 | bedrock | -
            POST   | /async-invoke                     | 404 | bedrock | -
            """)
    void unknownPathsAndMethodsAnswerInTheirApisShape(String method, String path, int status, String shape,
                                                     String allow) throws Exception {
        HttpResponse<String> r = send(method, path, null, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        if (!allow.equals("-")) {
            assertThat(r.headers().firstValue("Allow")).contains(allow);
        }
        assertShape(r, shape);
        assertThat(send("GET", "/v1/models", null, null).statusCode()).isEqualTo(200);
    }

    @Test
    void aHeaderBlockTooLargeIs431InTheApisShape() throws Exception {
        String big = "a".repeat(70_000);
        assertShape(withStatus(sendTooLarge("GET", "/v1/models", null, big), 431), "openai");
        assertShape(withStatus(sendTooLarge("GET", "/api/v1/projects", null, big), 431), "factory");
        assertShape(withStatus(sendTooLarge("POST", "/model/acme%2Ftiny/converse", "{}", big), 431), "bedrock");
        assertThat(send("GET", "/v1/models", null, null).statusCode()).isEqualTo(200);
    }

    /**
     * A request whose header block is too large: the server answers 431 and closes the connection with the rest of
     * the request unread, and when the client is still sending, the operating system may reset the connection before
     * the client reads the answer (as with any HTTP server). Under load that happened about once in four full runs,
     * so a reset is sent again, twice at most; the answer, when it comes, is checked whole.
     */
    private static HttpResponse<String> sendTooLarge(String method, String path, String body, String header)
            throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return send(method, path, body, header);
            } catch (java.io.IOException e) {
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    @Test
    void aBodyTooLargeIs413InTheApisShape() throws Exception {
        String huge = "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"" + "a".repeat(17 << 20) + "\"}";
        HttpResponse<String> r = withStatus(send("POST", "/v1/embeddings", huge, null), 413);
        assertShape(r, "openai");
        assertThat(json(r).at("/error/message").asText()).contains("server.maxRequestSize");
        assertThat(send("GET", "/v1/models", null, null).statusCode()).isEqualTo(200);
    }

    @Test
    void aBodyThatIsNotJsonIs415InTheApisShape() throws Exception {
        for (String[] c : new String[][] {{"/v1/embeddings", "openai", "415"},
                {"/model/builtin%2Fall-minilm-l6-v2/converse", "bedrock", "400"}, {"/api/v1/projects", "factory", "415"}}) {
            HttpResponse<String> r = http1.send(HttpRequest.newBuilder(URI.create(factory.url() + c[0]))
                    .header("Authorization", "Bearer " + factory.adminKey()).header("Content-Type", "text/plain")
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertShape(withStatus(r, Integer.parseInt(c[2])), c[1]);
            assertThat(r.body()).contains("application/json");
        }
        // A body with no declared type is read as JSON, as curl and some SDKs send it.
        HttpResponse<String> untyped = http1.send(HttpRequest.newBuilder(URI.create(factory.url() + "/v1/embeddings"))
                .header("Authorization", "Bearer " + factory.adminKey()).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"x\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(untyped.statusCode()).as(untyped.body()).isEqualTo(200);
    }

    @Test
    void aBodyOfUndeclaredLengthIs411InTheApisShape() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", URI.create(factory.url()).getPort())) {
            socket.getOutputStream().write(("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + factory.adminKey() + "\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 411").contains("\"type\":\"invalid_request_error\"")
                    .contains("Content-Length");
        }
        assertThat(send("GET", "/v1/models", null, null).statusCode()).isEqualTo(200);
    }

    private static HttpResponse<String> withStatus(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return r;
    }

    private static void assertShape(HttpResponse<String> r, String shape) {
        switch (shape) {
            case "openai" -> {
                assertThat(json(r).at("/error/message").asText()).isNotBlank();
                assertThat(json(r).at("/error/type").asText()).isEqualTo("invalid_request_error");
                assertThat(json(r).at("/error").has("code")).isTrue();
            }
            case "bedrock" -> {
                assertThat(r.headers().firstValue("x-amzn-ErrorType")).isPresent();
                assertThat(json(r).path("message").asText()).isNotBlank();
            }
            case "factory" -> {
                assertThat(json(r).at("/error/code").asText()).isNotBlank();
                assertThat(json(r).at("/error/message").asText()).isNotBlank();
            }
            default -> throw new IllegalArgumentException(shape);
        }
    }
}
