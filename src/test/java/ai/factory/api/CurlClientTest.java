package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * curl as people call the APIs by hand: {@code --aws-sigv4} on Bedrock's paths (over HTTP/1.1 and over HTTP/2),
 * {@code --http2-prior-knowledge} on OpenAI's, and the error each API answers in its own shape (OpenAI's JSON error;
 * AWS's {@code x-amzn-ErrorType}). Needs {@code curl} with SigV4 and HTTP/2; skipped without, except under CI, where
 * it fails.
 */
@ServerTest
class CurlClientTest {
    static final String TINY = "acme/tiny";
    /** One slot, room for one waiting request, and a context that takes the tiny model a minute to fill. */
    static final String BUSY = "acme/busy";
    static final String SIGV4 = "aws:amz:us-east-1:bedrock";
    static final String CHAT = "{\"model\": \"" + TINY + "\", \"temperature\": 0, \"max_tokens\": 12, "
            + "\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about the sea.\"}]";
    static final String CONVERSE = "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"Tell me about the "
            + "sea.\"}]}], \"inferenceConfig\": {\"maxTokens\": 12, \"temperature\": 0}}";

    @TempDir
    static Path home;

    static TestFactory factory;
    static BedrockSdk.AwsKey key;
    static final AtomicInteger CALLS = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        boolean curl = curlSpeaksSigV4AndHttp2();
        assumeTrue(curl || "true".equals(System.getenv("CI")), "curl with SigV4 and HTTP/2 is not installed");
        assertThat(curl).as("curl with SigV4 (7.75+) and HTTP/2, which CI needs").isTrue();
        factory = TestFactory.start(home, TestFactory.BUILTIN);
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 512");
        factory.deployGguf(BUSY, TestModels.tinyLlama(),
                "\"parallel\": 1, \"context\": 131072, \"queue\": 1, \"threads\": 1");
        key = BedrockSdk.createAwsKey(factory, "curl-user");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static boolean curlSpeaksSigV4AndHttp2() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("curl", "--version").redirectErrorStream(true).start();
            String version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !version.contains("HTTP2")) {
                return false;
            }
            Process help = new ProcessBuilder("curl", "--help", "all").redirectErrorStream(true).start();
            String options = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return help.waitFor(60, TimeUnit.SECONDS) && options.contains("--aws-sigv4");
        } catch (IOException e) {
            return false;
        }
    }

    /** What curl got: the status, the HTTP version ({@code 1.1}, {@code 2}), headers (names lower case), body. */
    record Answer(int status, String version, Map<String, String> headers, String body) {
        JsonNode json() throws IOException {
            return Json.mapper().readTree(body);
        }
    }

    /** Runs curl with {@code args} (the URL's path given as {@code PATH}, relative to the factory). */
    static Answer curl(String path, String... args) throws Exception {
        int n = CALLS.incrementAndGet();
        Path headers = home.resolve("headers-" + n);
        Path body = home.resolve("body-" + n);
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "-D", headers.toString(), "-o", body.toString(),
                "-w", "%{http_code} %{http_version}"));
        command.addAll(List.of(args));
        command.add(factory.url() + path);
        ProcessBuilder pb = new ProcessBuilder(command);
        ClientProcess.clientDefaults(pb.environment(), home);
        ClientProcess.Result r = ClientProcess.run(pb, 120);
        assertThat(r.exit()).as(r.err()).isZero();
        String[] written = r.out().trim().split(" ");
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : Files.readAllLines(headers, StandardCharsets.ISO_8859_1)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return new Answer(Integer.parseInt(written[0]), written[1], fields, Files.readString(body));
    }

    static String[] sigv4(String secret, String... more) {
        List<String> args = new ArrayList<>(List.of("--aws-sigv4", SIGV4, "--user", key.accessKeyId() + ":" + secret));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    static String[] bearer(String apiKey, String... more) {
        List<String> args = new ArrayList<>(List.of("-H", "Authorization: Bearer " + apiKey));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    static String[] json(String body) {
        return new String[] {"-H", "Content-Type: application/json", "--data-binary", body};
    }

    static String[] concat(String[] a, String[] b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }

    @Test
    void sigV4SignedConverseAndListFoundationModels() throws Exception {
        Answer models = curl("/foundation-models", sigv4(key.secretAccessKey()));
        assertThat(models.status()).as(models.body()).isEqualTo(200);
        assertThat(models.json().path("modelSummaries").findValuesAsText("modelId")).contains(TINY, BUSY);

        Answer converse = curl("/model/acme%2Ftiny/converse", concat(sigv4(key.secretAccessKey()), json(CONVERSE)));
        assertThat(converse.status()).as(converse.body()).isEqualTo(200);
        assertThat(converse.version()).isEqualTo("1.1");
        String text = converse.json().at("/output/message/content/0/text").asText();
        assertThat(text).isNotBlank();
        assertThat(converse.json().path("stopReason").asText()).isEqualTo("max_tokens");

        // Over HTTP/2 curl sends the host as :authority, having signed it as 'host'.
        Answer overHttp2 = curl("/model/acme%2Ftiny/converse", concat(sigv4(key.secretAccessKey(),
                "--http2-prior-knowledge"), json(CONVERSE)));
        assertThat(overHttp2.status()).as(overHttp2.body()).isEqualTo(200);
        assertThat(overHttp2.version()).isEqualTo("2");
        assertThat(overHttp2.json().at("/output/message/content/0/text").asText()).isEqualTo(text);
    }

    @Test
    void http2PriorKnowledgeModelsChatStreamedAndEmbeddings() throws Exception {
        String[] h2 = bearer(factory.adminKey(), "--http2-prior-knowledge");
        Answer models = curl("/v1/models", h2);
        assertThat(models.version()).isEqualTo("2");
        assertThat(models.json().path("data").findValuesAsText("id")).contains(TINY, BUSY);

        Answer whole = curl("/v1/chat/completions", concat(h2, json(CHAT + "}")));
        assertThat(whole.status()).as(whole.body()).isEqualTo(200);
        assertThat(whole.version()).isEqualTo("2");
        String text = whole.json().at("/choices/0/message/content").asText();
        assertThat(text).isNotBlank();

        Answer streamed = curl("/v1/chat/completions", concat(h2, json(CHAT + ", \"stream\": true}")));
        assertThat(streamed.status()).isEqualTo(200);
        assertThat(streamed.version()).isEqualTo("2");
        assertThat(streamed.headers().get("content-type")).startsWith("text/event-stream");
        assertThat(streamed.body()).endsWith("data: [DONE]\n\n");
        StringBuilder pieces = new StringBuilder();
        for (String line : streamed.body().split("\n")) {
            if (line.startsWith("data: {")) {
                pieces.append(Json.mapper().readTree(line.substring(6)).at("/choices/0/delta/content").asText(""));
            }
        }
        assertThat(pieces.toString()).isEqualTo(text);

        Answer embeddings = curl("/v1/embeddings", concat(h2, json(
                "{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": [\"the sea\", \"a mountain\"]}")));
        assertThat(embeddings.status()).as(embeddings.body()).isEqualTo(200);
        assertThat(embeddings.json().path("data")).hasSize(2);
        assertThat(embeddings.json().at("/data/0/embedding")).hasSize(384);
    }

    @Test
    void errorsInEachApisShape() throws Exception {
        Answer noSuchPath = curl("/v1/nope", bearer(factory.adminKey()));
        assertThat(noSuchPath.status()).isEqualTo(404);
        assertThat(noSuchPath.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(noSuchPath.json().at("/error/message").asText()).contains("/v1/nope");
        Answer wrongKey = curl("/v1/chat/completions", concat(bearer("fk_wrong"), json(CHAT + "}")));
        assertThat(wrongKey.status()).isEqualTo(401);
        assertThat(wrongKey.json().at("/error/code").asText()).isEqualTo("invalid_api_key");
        Answer unknownModel = curl("/v1/chat/completions", concat(bearer(factory.adminKey()),
                json(CHAT.replace(TINY, "acme/none") + "}")));
        assertThat(unknownModel.status()).isEqualTo(404);
        assertThat(unknownModel.json().at("/error/code").asText()).isEqualTo("model_not_found");
        Answer hot = curl("/v1/chat/completions", concat(bearer(factory.adminKey()),
                json(CHAT.replace("\"temperature\": 0", "\"temperature\": 5") + "}")));
        assertThat(hot.status()).isEqualTo(400);
        assertThat(hot.json().at("/error/param").asText()).isEqualTo("temperature");

        Answer noSuchOperation = curl("/model/acme%2Ftiny/nope", sigv4(key.secretAccessKey(), "-X", "POST"));
        assertThat(noSuchOperation.status()).isEqualTo(404);
        assertThat(noSuchOperation.headers().get("x-amzn-errortype")).isEqualTo("ResourceNotFoundException");
        assertThat(noSuchOperation.json().path("message").asText()).contains("nope");
        Answer wrongSecret = curl("/foundation-models", sigv4("wrong"));
        assertThat(wrongSecret.status()).isEqualTo(403);
        assertThat(wrongSecret.headers().get("x-amzn-errortype")).isEqualTo("InvalidSignatureException");
        Answer unknownBedrockModel = curl("/model/acme%2Fnone/converse", concat(sigv4(key.secretAccessKey()),
                json(CONVERSE)));
        assertThat(unknownBedrockModel.status()).isEqualTo(404);
        assertThat(unknownBedrockModel.headers().get("x-amzn-errortype")).isEqualTo("ResourceNotFoundException");
        Answer zero = curl("/model/acme%2Ftiny/converse", concat(sigv4(key.secretAccessKey()),
                json(CONVERSE.replace("\"maxTokens\": 12", "\"maxTokens\": 0"))));
        assertThat(zero.status()).isEqualTo(400);
        assertThat(zero.headers().get("x-amzn-errortype")).isEqualTo("ValidationException");
        assertThat(zero.json().path("message").asText()).contains("maxTokens");
    }

    @Test
    void fullQueueIs429WithRetryAfterInBothShapes() throws Exception {
        // The busy model's one slot holds a generation that never ends on its own; a second waits.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest endless = factory.request("/v1/completions", factory.adminKey())
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"" + BUSY + "\", \"prompt\": \"x\", \"max_tokens\": 100000, \"ignore_eos\": true, "
                                + "\"stream\": true}")).build();
        try (InputStream generating = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
            // Several events mean it holds the slot (the first event is sent while a request still waits).
            TestFactory.readUntil(generating, "\"text\"", 2);
            try (InputStream waiting = http.send(endless, HttpResponse.BodyHandlers.ofInputStream()).body()) {
                Answer openAi = curl("/v1/chat/completions", concat(bearer(factory.adminKey()),
                        json(CHAT.replace(TINY, BUSY) + "}")));
                assertThat(openAi.status()).isEqualTo(429);
                assertThat(openAi.headers()).containsKey("retry-after");
                assertThat(openAi.json().at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
                assertThat(openAi.json().at("/error/message").asText()).contains(BUSY);

                Answer bedrock = curl("/model/acme%2Fbusy/converse", concat(sigv4(key.secretAccessKey()),
                        json(CONVERSE)));
                assertThat(bedrock.status()).isEqualTo(429);
                assertThat(bedrock.headers().get("x-amzn-errortype")).isEqualTo("ThrottlingException");
                assertThat(waiting).isNotNull();
            }
        }
    }
}
