package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 in clear text beside HTTP/1.1 on the one port: a client that asks to upgrade ({@code Upgrade: h2c}, as the
 * JDK's client does) gets HTTP/2, answers and streams included. (Prior knowledge, as the AWS SDKs' async clients
 * speak it, is what the Bedrock stream tests run on: their async client keeps its default transport.) A client that
 * goes away as Node's http2 does, GOAWAY and then the end of its output, frees its slot at once.
 */
@ServerTest
class Http2ApiTest {
    @TempDir
    static Path home;

    static TestFactory factory;
    static HttpClient http2;
    /** One slot whose context takes the tiny model a minute to fill. */
    static String longId;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf("acme/tiny", TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
        longId = factory.deployGguf("acme/long", TestModels.tinyLlama(), "\"parallel\": 1, \"context\": 131072, \"threads\": 1");
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

    /**
     * A streamed upload (chunked: its length unknown) on a fresh connection from the JDK's client as it comes, which
     * asks to upgrade with it: the server stays in HTTP/1.1 for it, and the whole body arrives.
     */
    @Test
    void aChunkedUploadThatAsksToUpgradeArrivesWhole() throws Exception {
        byte[] model = java.nio.file.Files.readAllBytes(TestModels.tinyLlama());
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(factory.url()
                        + "/api/v1/models/acme/streamed/versions")).header("Authorization", "Bearer " + factory.adminKey())
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(model))).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        assertThat(json(r).at("/files/0/size").asLong()).isEqualTo(model.length);
    }

    @Test
    void clientThatSaysGoawayAndClosesItsSideEndsItsStreamAtOnce() throws Exception {
        // As Node's http2 ends an aborted stream (the AWS SDK for JavaScript's event streams): GOAWAY, then the end
        // of its output, with the response stalled on a flow-control window that can no longer grow.
        String body = "{\"model\": \"acme/long\", \"prompt\": \"x\", \"max_tokens\": 100000, \"ignore_eos\": true, "
                + "\"stream\": true}";
        URI url = URI.create(factory.url());
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            DataInputStream in = new DataInputStream(socket.getInputStream());
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // SETTINGS_INITIAL_WINDOW_SIZE (4) of 1000 bytes: the stream stalls after a few events.
            frame(out, 0x4, 0, 0, new byte[] {0, 4, 0, 0, 0x03, (byte) 0xe8});
            ByteArrayOutputStream headers = new ByteArrayOutputStream();
            for (String[] field : new String[][] {{":method", "POST"}, {":scheme", "http"},
                    {":authority", url.getAuthority()}, {":path", "/v1/completions"},
                    {"authorization", "Bearer " + factory.adminKey()}, {"content-type", "application/json"}}) {
                literal(headers, field[0], field[1]);
            }
            frame(out, 0x1, 0x4, 1, headers.toByteArray()); // HEADERS, END_HEADERS
            frame(out, 0x0, 0x1, 1, body.getBytes(StandardCharsets.UTF_8)); // DATA, END_STREAM
            while (true) { // until the first DATA of the response: the generation holds the slot
                int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                in.readUnsignedByte();
                int stream = in.readInt();
                in.readNBytes(length);
                if (type == 0x0 && stream == 1 && length > 0) {
                    break;
                }
            }
            assertThat(json(factory.get("/api/v1/deployments/" + longId, factory.adminKey())).path("activeRequests")
                    .asInt()).isEqualTo(1);
            frame(out, 0x7, 0, 0, new byte[8]); // GOAWAY: last stream 0, NO_ERROR
            socket.shutdownOutput();

            // Left to run, the stalled stream would hold the slot until the connection's 30 s idle timeout.
            await().atMost(Duration.ofSeconds(20)).until(() -> json(factory.get("/api/v1/deployments/" + longId,
                    factory.adminKey())).path("activeRequests").asInt() == 0);
        }
    }

    private static void frame(DataOutputStream out, int type, int flags, int stream, byte[] payload) throws Exception {
        out.writeShort(payload.length >>> 8);
        out.writeByte(payload.length & 0xff);
        out.writeByte(type);
        out.writeByte(flags);
        out.writeInt(stream);
        out.write(payload);
        out.flush();
    }

    /** An HPACK literal header field without indexing, with a new name, neither string Huffman-coded. */
    private static void literal(ByteArrayOutputStream out, String name, String value) {
        out.write(0);
        for (String s : new String[] {name, value}) {
            byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
            int length = bytes.length;
            if (length < 127) { // HPACK's integer with a 7-bit prefix
                out.write(length);
            } else {
                out.write(127);
                for (length -= 127; length >= 128; length >>>= 7) {
                    out.write(length & 0x7f | 0x80);
                }
                out.write(length);
            }
            out.writeBytes(bytes);
        }
    }
}
