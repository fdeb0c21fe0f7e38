package ai.factory.api;

import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest;
import ai.factory.config.Setting;
import ai.factory.config.TlsFiles;
import ai.factory.security.tls.ServerIdentity;
import ai.factory.security.tls.SiteTrust;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.Http2Metric;
import software.amazon.awssdk.metrics.MetricCollection;
import software.amazon.awssdk.metrics.MetricPublisher;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlockDeltaEvent;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamOutput;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.Message;

/**
 * A factory serving TLS with a certificate from the site CA it generated, and the clients applications use, each
 * with its default configuration but for the endpoint, the credentials and trusting the site CA: the JDK's client
 * (h2 by ALPN, and HTTP/1.1), openai-java, the AWS SDK's sync and async Bedrock clients (the async one speaks HTTP/2),
 * boto3, the npm {@code openai} package, curl, and the factory's own command line finding the CA in its home.
 * boto3, Node.js and curl are skipped where they are not installed, except under CI, where they must be.
 */
@ServerTest
class TlsApiTest {
    static final String TINY = "acme/tiny";

    @TempDir
    static Path home;

    static TestFactory factory;
    static Path ca;
    static SSLContext trust;

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home, Map.of(Setting.TLS_ENABLED, "true", Setting.TLS_NAMES, "factory.test"));
        ca = TlsFiles.under(home).caCertificate();
        trust = SiteTrust.context(List.of(ca));
        factory.deployGguf(TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 256");
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    private static String chatBody(boolean stream) {
        return "{\"model\": \"" + TINY + "\", \"max_tokens\": 4, \"temperature\": 0, \"stream\": " + stream
                + ", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    }

    private static HttpResponse<String> send(HttpClient client, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(factory.url() + path))
                .header("Authorization", "Bearer " + factory.adminKey());
        request = body == null ? request.GET()
                : request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheGeneratedCertificateFromPrivateFilesAndReportsTheNewCaOnce() throws Exception {
        TlsFiles files = TlsFiles.under(home);
        assertThat(factory.url()).startsWith("https://127.0.0.1:");
        assertThat(Files.readString(home.resolve("run").resolve("server.json"))).contains("\"url\": \"https://127.0.0.1:");
        assertThat(Files.getPosixFilePermissions(files.dir())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(Files.getPosixFilePermissions(files.caKey())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(files.key())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        X509Certificate siteCa = SiteTrust.read(ca).getFirst();
        assertThat(factory.factory().newSiteCaFingerprint()).contains(ServerIdentity.fingerprint(siteCa));
        assertThat(factory.factory().siteCaCertificate()).contains(ca);

        HttpResponse<String> live = send(HttpClient.newBuilder().sslContext(trust).build(), "/health/live", null);
        assertThat(live.statusCode()).isEqualTo(200);
        X509Certificate served = (X509Certificate) live.sslSession().orElseThrow().getPeerCertificates()[0];
        assertThat(served).isEqualTo(SiteTrust.read(files.certificate()).getFirst());
        served.verify(siteCa.getPublicKey());
        List<String> names = served.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList();
        assertThat(names).contains("localhost", "127.0.0.1", "0:0:0:0:0:0:0:1", "factory.test",
                InetAddress.getLocalHost().getHostName().toLowerCase(java.util.Locale.ROOT));
    }

    @Test
    void jdkClientGetsH2ByAlpnAndHttp11AndStreamsOverBoth() throws Exception {
        for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpClient client = HttpClient.newBuilder().sslContext(trust).version(version).build();
            HttpResponse<String> models = send(client, "/v1/models", null);
            assertThat(models.statusCode()).isEqualTo(200);
            assertThat(models.version()).isEqualTo(version);
            assertThat(models.body()).contains(TINY);

            HttpResponse<String> streamed = send(client, "/v1/chat/completions", chatBody(true));
            assertThat(streamed.version()).isEqualTo(version);
            assertThat(streamed.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t)
                    .startsWith("text/event-stream"));
            assertThat(streamed.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");

            HttpResponse<String> refused = send(client, "/v1/chat/completions", "{\"model\": \"" + TINY + "\", \"messages\": []}");
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(json(refused).at("/error/type").asText()).isEqualTo("invalid_request_error");
        }
    }

    @Test
    void theTlsPortTakesNoClearTextAndAClientThatDoesNotTrustTheCaIsRefused() {
        String plain = factory.url().replace("https://", "http://");
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(plain + "/health/live"))
                .build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> send(HttpClient.newHttpClient(), "/health/live", null))
                .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }

    @Test
    void aClientWithoutAlpnThatOpensWithHttp2sPrefaceIsServedHttp2() throws Exception {
        try (SSLSocket socket = (SSLSocket) trust.getSocketFactory().createSocket("127.0.0.1",
                URI.create(factory.url()).getPort())) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).as("no protocol negotiated").isEmpty();
            socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
            socket.getOutputStream().flush();
            byte[] frame = socket.getInputStream().readNBytes(9);
            assertThat(frame[3]).as("the server's first frame is its SETTINGS").isEqualTo((byte) 4);
            assertThat(frame[4] & 1).as("not an acknowledgement").isZero();
        }
    }

    @Test
    void openAiJavaClientChatsAndStreams() {
        X509TrustManager trustManager = SiteTrust.trustManager(List.of(ca));
        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(factory.url() + "/v1").apiKey(factory.adminKey())
                .sslSocketFactory(SiteTrust.context(List.of(ca)).getSocketFactory()).trustManager(trustManager).build();
        try {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(TINY).addUserMessage("hi")
                    .maxCompletionTokens(4).temperature(0.0).build();
            String whole = openai.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();
            StringBuilder streamed = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> chunks = openai.chat().completions().createStreaming(params)) {
                chunks.stream().forEach(c -> c.choices().forEach(choice -> choice.delta().content().ifPresent(streamed::append)));
            }
            assertThat(whole).isNotEmpty();
            assertThat(streamed.toString()).isEqualTo(whole);
        } finally {
            openai.close();
        }
    }

    @Test
    void awsSdkSyncAndAsyncClientsConverseAndStreamTheAsyncOneOverHttp2() {
        BedrockSdk.AwsKey key = BedrockSdk.createAwsKey(factory, "tls-app");
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(
                AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey()));
        Message hello = Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("Hello over TLS")).build();

        // The SDK's default HTTP client for each, untouched: the site CA reaches them as docs/tls.md tells Java users,
        // through the JVM's trust store (set for this test and restored after it).
        String[] saved = trustJvmIn(ca);
        try {
            try (BedrockRuntimeClient sync = BedrockRuntimeClient.builder().endpointOverride(URI.create(factory.url()))
                    .region(Region.US_EAST_1).credentialsProvider(credentials).build()) {
                ConverseResponse r = sync.converse(c -> c.modelId(TINY).messages(hello).inferenceConfig(i -> i.maxTokens(8)));
                assertThat(r.output().message().content().getFirst().text()).isNotEmpty();
            }

            List<MetricCollection> metrics = Collections.synchronizedList(new ArrayList<>());
            MetricPublisher collect = new MetricPublisher() {
                @Override
                public void publish(MetricCollection collection) {
                    metrics.add(collection);
                }

                @Override
                public void close() {}
            };
            try (BedrockRuntimeAsyncClient async = BedrockRuntimeAsyncClient.builder().endpointOverride(URI.create(factory.url()))
                    .region(Region.US_EAST_1).credentialsProvider(credentials)
                    .overrideConfiguration(o -> o.addMetricPublisher(collect)).build()) {
                List<ConverseStreamOutput> events = Collections.synchronizedList(new ArrayList<>());
                async.converseStream(ConverseStreamRequest.builder().modelId(TINY).messages(hello)
                                .inferenceConfig(i -> i.maxTokens(8)).build(),
                        ConverseStreamResponseHandler.builder().subscriber(events::add).build()).join();
                StringBuilder text = new StringBuilder();
                events.stream().filter(e -> e instanceof ContentBlockDeltaEvent)
                        .forEach(e -> text.append(((ContentBlockDeltaEvent) e).delta().text()));
                assertThat(text.toString()).isNotEmpty();
                assertThat(events.getLast().sdkEventType()).isEqualTo(ConverseStreamOutput.EventType.METADATA);
            }
            assertThat(metrics).as("the async client's HTTP/2 stream metrics").anyMatch(TlsApiTest::spokeHttp2);
        } finally {
            restoreJvmTrust(saved);
        }
    }

    private static final String[] TRUST_PROPERTIES = {"javax.net.ssl.trustStore", "javax.net.ssl.trustStorePassword",
            "javax.net.ssl.trustStoreType"};

    /** Points the JVM's default trust store at a PKCS#12 file holding {@code caPem}; returns what was set before. */
    private static String[] trustJvmIn(Path caPem) {
        try {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(null, null);
            try (InputStream in = Files.newInputStream(caPem)) {
                store.setCertificateEntry("site-ca", java.security.cert.CertificateFactory.getInstance("X.509")
                        .generateCertificate(in));
            }
            Path file = home.resolve("site-ca.p12");
            try (var out = Files.newOutputStream(file)) {
                store.store(out, "changeit".toCharArray());
            }
            String[] saved = new String[TRUST_PROPERTIES.length];
            for (int i = 0; i < saved.length; i++) {
                saved[i] = System.getProperty(TRUST_PROPERTIES[i]);
            }
            System.setProperty(TRUST_PROPERTIES[0], file.toString());
            System.setProperty(TRUST_PROPERTIES[1], "changeit");
            System.setProperty(TRUST_PROPERTIES[2], "PKCS12");
            return saved;
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    private static void restoreJvmTrust(String[] saved) {
        for (int i = 0; i < saved.length; i++) {
            if (saved[i] == null) {
                System.clearProperty(TRUST_PROPERTIES[i]);
            } else {
                System.setProperty(TRUST_PROPERTIES[i], saved[i]);
            }
        }
    }

    private static boolean spokeHttp2(MetricCollection collection) {
        return !collection.metricValues(Http2Metric.LOCAL_STREAM_WINDOW_SIZE_IN_BYTES).isEmpty()
                || collection.children().stream().anyMatch(TlsApiTest::spokeHttp2);
    }

    @Test
    void boto3TrustsTheSiteCaThroughAwsCaBundle() throws Exception {
        boolean boto3 = runs("python3", "-c", "import boto3");
        assumeTrue(boto3 || "true".equals(System.getenv("CI")), "python3 with boto3 is not installed");
        assertThat(boto3).as("python3 with boto3, which CI needs").isTrue();
        BedrockSdk.AwsKey key = BedrockSdk.createAwsKey(factory, "tls-boto3");
        Path script = home.resolve("boto3_tls.py");
        try (InputStream in = TlsApiTest.class.getResourceAsStream("boto3_tls.py")) {
            Files.write(script, in.readAllBytes());
        }
        Result r = run(Map.of("AWS_CA_BUNDLE", ca.toString(), "FACTORY_ENDPOINT", factory.url(),
                "FACTORY_ACCESS_KEY_ID", key.accessKeyId(), "FACTORY_SECRET_ACCESS_KEY", key.secretAccessKey(),
                "FACTORY_MODEL", TINY), "python3", script.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());
        assertThat(out.path("answer").asText()).isNotEmpty();
        assertThat(out.path("streamed").asText()).isEqualTo(out.path("answer").asText());
        assertThat(out.path("streamedStop").asText()).isEqualTo(out.path("stopReason").asText()).isEqualTo("max_tokens");
    }

    @Test
    void nodeOpenAiTrustsTheSiteCaThroughNodeExtraCaCerts() throws Exception {
        boolean node = NodeClients.available();
        assumeTrue(node || "true".equals(System.getenv("CI")), "node and npm are not installed");
        assertThat(node).as("node and npm, which CI needs").isTrue();
        ClientProcess.Result r = NodeClients.node("openai-tls.mjs", Map.of("NODE_EXTRA_CA_CERTS", ca.toString(),
                "FACTORY_URL", factory.url(), "FACTORY_API_KEY", factory.adminKey(), "FACTORY_MODEL", TINY));
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = Json.mapper().readTree(r.out());
        assertThat(out.path("answer").asText()).isNotEmpty();
        assertThat(out.path("streamed").asText()).isEqualTo(out.path("answer").asText());
        assertThat(out.path("streamedFinish").asText()).isEqualTo(out.path("finish").asText()).isEqualTo("length");
    }

    @Test
    void curlWithTheCaSpeaksH2ByDefaultAndHttp11WhenAsked() throws Exception {
        boolean curl = runs("curl", "--version");
        assumeTrue(curl || "true".equals(System.getenv("CI")), "curl is not installed");
        assertThat(curl).as("curl, which CI needs").isTrue();
        String auth = "Authorization: Bearer " + factory.adminKey();
        for (String[] mode : new String[][] {{"--http2", "2"}, {"--http1.1", "1.1"}, {"--cacert", "2"}}) {
            List<String> command = new ArrayList<>(List.of("curl", "-sS", "--cacert", ca.toString(), "-w", "\n%{http_version}",
                    "-H", auth, factory.url() + "/v1/models"));
            if (!mode[0].equals("--cacert")) {
                command.add(1, mode[0]); // otherwise curl's default: h2 offered by ALPN
            }
            Result r = run(Map.of(), command.toArray(String[]::new));
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains(TINY).endsWith("\n" + mode[1]);
        }
        Result streamed = run(Map.of(), "curl", "-sSN", "--http2", "--cacert", ca.toString(), "-H", auth,
                "-H", "Content-Type: application/json", "-d", chatBody(true), factory.url() + "/v1/chat/completions");
        assertThat(streamed.exit()).as(streamed.err()).isZero();
        assertThat(streamed.out()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");
        Result untrusted = run(Map.of(), "curl", "-sS", factory.url() + "/health/live");
        assertThat(untrusted.exit()).as("curl without the CA refuses the certificate").isEqualTo(60);
    }

    @Test
    void commandLineFindsTheHttpsServerAndTheSiteCaInItsHome() throws Exception {
        FactoryCliTest.Run models = FactoryCliTest.cli("models", "list", "--home", home.toString());
        assertThat(models.exit()).as(models.err()).isZero();
        assertThat(models.out()).contains(TINY);
        FactoryCliTest.Run chat = FactoryCliTest.cli("chat", TINY, "-p", "hi", "--max-tokens", "4", "--home", home.toString());
        assertThat(chat.exit()).as(chat.err()).isZero();
        assertThat(chat.out()).isNotBlank();

        Path elsewhere = Files.createDirectories(home.resolve("elsewhere"));
        FactoryCliTest.Run untrusted = FactoryCliTest.cli("models", "list", "--url", factory.url(), "--key",
                factory.adminKey(), "--home", elsewhere.toString());
        assertThat(untrusted.exit()).isEqualTo(1);
        assertThat(untrusted.err()).startsWith("factory: cannot verify the factory at " + factory.url() + " over TLS")
                .contains("--ca-cert");
        FactoryCliTest.Run given = FactoryCliTest.cli("models", "list", "--url", factory.url(), "--key", factory.adminKey(),
                "--home", elsewhere.toString(), "--ca-cert", ca.toString());
        assertThat(given.exit()).as(given.err()).isZero();
        assertThat(given.out()).contains(TINY);
    }

    @Test
    void benchMeasuresOverHttpsTrustingTheCaItIsGiven() throws Exception {
        List<String> bench = List.of("bench", "--url", factory.url() + "/v1", "--key", factory.adminKey(), "--model", TINY,
                "--concurrency", "1", "--requests-per-level", "2", "--warmup", "0", "--prompt-tokens", "4",
                "--output-tokens", "2", "--quiet");
        Path report = home.resolve("bench.json");
        List<String> trusted = new ArrayList<>(bench);
        trusted.addAll(List.of("--ca-cert", ca.toString(), "--json", report.toString()));
        FactoryCliTest.Run measured = FactoryCliTest.cli(trusted.toArray(String[]::new));
        assertThat(measured.exit()).as(measured.err()).isZero();
        assertThat(Json.mapper().readTree(report.toFile()).at("/levels/0/errors").asInt(-1)).isZero();

        FactoryCliTest.Run untrusted = FactoryCliTest.cli(bench.toArray(String[]::new));
        assertThat(untrusted.exit()).as("every request fails the handshake").isEqualTo(1);
    }

    record Result(int exit, String out, String err) {}

    private static boolean runs(String... command) {
        try {
            return run(Map.of(), command).exit() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Result run(Map<String, String> env, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[][] err = new byte[1][];
        Thread errors = Thread.ofVirtual().start(() -> {
            try {
                err[0] = p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                err[0] = new byte[0];
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " ran past 120 s");
        }
        errors.join();
        return new Result(p.exitValue(), out, new String(err[0], StandardCharsets.UTF_8));
    }
}
