package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that leaves frees its slot: non-streamed calls over HTTP/1.1 (a closed connection) and HTTP/2 (a reset
 * stream), and a Bedrock event stream, each asked for far more tokens than the test would wait for. The one slot of
 * the deployment is free again long before the generation could have ended, and the audit record says 499 with the
 * tokens generated until then.
 */
@ServerTest
class ClientDeparturesApiTest {
    static final String MODEL = "acme/tiny-one-slot";
    static final String ENDLESS = "\"max_tokens\": 100000, \"ignore_eos\": true";

    @TempDir
    static Path home;

    static TestFactory factory;
    static String deploymentId;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        deploymentId = factory.deployGguf(MODEL, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static int active() {
        return json(factory.get("/api/v1/deployments/" + deploymentId, factory.adminKey())).path("activeRequests").asInt();
    }

    /** The slot was freed, and the call can be seen to have been stopped: another call gets it. */
    private static void slotFreedAndRecorded(String requestId) {
        await().atMost(Duration.ofSeconds(30)).until(() -> active() == 0);
        HttpResponse<String> next = factory.post("/v1/completions", factory.adminKey(),
                "{\"model\": \"" + MODEL + "\", \"prompt\": \"y\", \"max_tokens\": 2}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
        JsonNode record = factory.auditRecord(requestId, factory.adminKey());
        assertThat(record.path("status").asInt()).as(record.toString()).isEqualTo(RequestAudit.CLIENT_LEFT);
        assertThat(record.path("outcome").asText()).isEqualTo("failure");
        assertThat(record.path("completionTokens").asLong()).isPositive().isLessThan(100000);
        assertThat(record.path("promptTokens").asLong()).isPositive();
    }

    private static Socket sendHttp1(String path, String requestId, String body) throws Exception {
        Socket socket = new Socket("127.0.0.1", URI.create(factory.url()).getPort());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + factory.adminKey()
                + "\r\nContent-Type: application/json\r\nX-Request-Id: " + requestId + "\r\nContent-Length: "
                + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        return socket;
    }

    @Test
    void aNonStreamedCallWhoseHttp11ClientClosesStops() throws Exception {
        try (Socket socket = sendHttp1("/v1/chat/completions", "gone-http1", "{\"model\": \"" + MODEL + "\", "
                + ENDLESS + ", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")) {
            await().atMost(Duration.ofSeconds(30)).until(() -> active() == 1);
            assertThat(socket.getInputStream().available()).as("no answer yet").isZero();
        }
        slotFreedAndRecorded("gone-http1");
    }

    @Test
    void aNonStreamedCallWhoseHttp2StreamIsResetStops() {
        HttpClient http2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        // A first exchange upgrades the connection (Upgrade: h2c), so the call below runs on an HTTP/2 stream.
        HttpResponse<String> models = factory.send(factory.request("/v1/models", factory.adminKey()).GET()
                .version(HttpClient.Version.HTTP_2));
        assertThat(models.statusCode()).isEqualTo(200);
        try {
            assertThat(http2.send(HttpRequest.newBuilder(URI.create(factory.url() + "/v1/models"))
                    .header("Authorization", "Bearer " + factory.adminKey()).build(), HttpResponse.BodyHandlers.ofString())
                    .version()).isEqualTo(HttpClient.Version.HTTP_2);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        CompletableFuture<HttpResponse<String>> call = http2.sendAsync(HttpRequest.newBuilder(
                        URI.create(factory.url() + "/v1/completions"))
                .header("Authorization", "Bearer " + factory.adminKey()).header("Content-Type", "application/json")
                .header("X-Request-Id", "gone-http2")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"prompt\": \"x\", "
                        + ENDLESS + "}")).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(30)).until(() -> active() == 1);
        // Cancelling the exchange resets its stream; the connection itself stays open for other streams.
        call.cancel(true);
        slotFreedAndRecorded("gone-http2");
        http2.close();
    }

    @Test
    void aBedrockStreamWhoseClientClosesStops() throws Exception {
        try (Socket socket = sendHttp1("/model/" + MODEL.replace("/", "%2F") + "/converse-stream", "gone-bedrock", "{\"messages\": "
                + "[{\"role\": \"user\", \"content\": [{\"text\": \"hi\"}]}], \"inferenceConfig\": {\"maxTokens\": "
                + "100000}, \"additionalModelRequestFields\": {\"ignore_eos\": true}}")) {
            InputStream in = socket.getInputStream();
            StringBuilder began = new StringBuilder();
            while (!began.toString().contains("contentBlockDelta") && began.length() < 8192) {
                began.append(new String(in.readNBytes(64), StandardCharsets.ISO_8859_1));
            }
            assertThat(began.toString()).as("the stream began").startsWith("HTTP/1.1 200").contains("contentBlockDelta");
            assertThat(active()).isEqualTo(1);
        }
        slotFreedAndRecorded("gone-bedrock");
    }
}
