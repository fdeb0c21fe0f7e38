package ai.factory.api;

import ai.factory.ServerTest;
import ai.factory.api.BedrockSdk.AwsKey;

import static ai.factory.api.BedrockConverseApiTest.converse;
import static ai.factory.api.EmbeddingsApiTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.api.BedrockSdk.AwsKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.BedrockRuntimeException;

/** SigV4 on the Bedrock paths: what the AWS SDK signs is accepted, anything else is refused the way AWS does. */
@ServerTest
class BedrockAuthApiTest {
    static final String BODY = """
            {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 2}}""";

    @TempDir
    static Path home;

    static TestFactory factory;
    static AwsKey key;
    static BedrockRuntimeClient bedrock;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        factory = TestFactory.start(home);
        factory.deployGguf(BedrockConverseApiTest.TINY, TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 128");
        key = BedrockSdk.createAwsKey(factory, "signer");
        bedrock = client(key.accessKeyId(), key.secretAccessKey());
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(bedrock, factory);
    }

    /** Whatever a test sent, the server goes on serving signed requests. */
    @AfterEach
    void stillServing() {
        assertThat(bedrock.converse(converse(BedrockConverseApiTest.TINY, "Hi", 2).build()).usage().outputTokens())
                .isEqualTo(2);
    }

    static BedrockRuntimeClient client(String accessKeyId, String secret) {
        return BedrockSdk.runtime(factory, Region.US_WEST_2, accessKeyId, secret);
    }

    private static void assertRefused(Runnable call, int status, String errorType) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(BedrockRuntimeException.class, e -> {
            assertThat(e.statusCode()).isEqualTo(status);
            assertThat(e.awsErrorDetails().errorCode()).isEqualTo(errorType);
        });
    }

    @Test
    void wrongSecretIsAnInvalidSignature() {
        try (BedrockRuntimeClient wrong = client(key.accessKeyId(), "x".repeat(40))) {
            assertRefused(() -> wrong.converse(converse(BedrockConverseApiTest.TINY, "Hi", 2).build()), 403,
                    "InvalidSignatureException");
        }
    }

    @Test
    void unknownAccessKeyIsUnrecognized() {
        try (BedrockRuntimeClient unknown = client("AKIAAAAAAAAAAAAAAAAA", key.secretAccessKey())) {
            assertRefused(() -> unknown.converse(converse(BedrockConverseApiTest.TINY, "Hi", 2).build()), 403,
                    "UnrecognizedClientException");
        }
    }

    @Test
    void revokedAccessKeyStopsWorkingAtOnce() {
        AwsKey revoked = BedrockSdk.createAwsKey(factory, "short-lived");
        try (BedrockRuntimeClient client = client(revoked.accessKeyId(), revoked.secretAccessKey())) {
            assertThat(client.converse(converse(BedrockConverseApiTest.TINY, "Hi", 2).build()).usage().outputTokens())
                    .isEqualTo(2);
            assertThat(factory.send(factory.request("/api/v1/keys/" + revoked.id(), factory.adminKey()).DELETE())
                    .statusCode()).isEqualTo(200);
            assertRefused(() -> client.converse(converse(BedrockConverseApiTest.TINY, "Hi", 2).build()), 403,
                    "UnrecognizedClientException");
        }
    }

    @Test
    void handSignedRequestIsAccepted() {
        HttpResponse<String> r = sendSigned(BODY, BODY, Clock.systemUTC(), Map.of(), true);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).path("usage").path("outputTokens").asInt()).isEqualTo(2);
    }

    @Test
    void tamperedBodyIsRefused() {
        HttpResponse<String> r = sendSigned(BODY, BODY.replace("Hi", "Ho"), Clock.systemUTC(), Map.of(), true);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("InvalidSignatureException");
        assertThat(json(r).path("message").asText()).contains("does not match");
    }

    @Test
    void contentHashHeaderMustMatchTheBody() {
        // The signer states the body's hash in x-amz-content-sha256; a different one sent in its place is caught.
        HttpResponse<String> r = sendSigned(BODY, BODY, Clock.systemUTC(), Map.of(), true,
                Map.of("x-amz-content-sha256", "1".repeat(64)));
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("InvalidSignatureException");
        assertThat(json(r).path("message").asText()).contains("x-amz-content-sha256");
    }

    @Test
    void unsignedPayloadIsAcceptedWhenDeclared() {
        HttpResponse<String> r = sendSigned(BODY, BODY, Clock.systemUTC(), Map.of("x-amz-content-sha256", "UNSIGNED-PAYLOAD"), false);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    @Test
    void signatureOlderThanFifteenMinutesIsRefused() {
        Clock twentyMinutesAgo = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-20));
        HttpResponse<String> r = sendSigned(BODY, BODY, twentyMinutesAgo, Map.of(), true);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValue("InvalidSignatureException");
        assertThat(json(r).path("message").asText()).contains("Signature expired");
    }

    @Test
    void missingOrForeignCredentialsGetTheAwsErrorShape() {
        HttpResponse<String> none = factory.post("/model/acme%2Ftiny/converse", null, BODY);
        assertThat(none.statusCode()).isEqualTo(403);
        assertThat(none.headers().firstValue("x-amzn-ErrorType")).hasValue("MissingAuthenticationTokenException");
        assertThat(json(none).path("message").asText()).isNotEmpty();

        HttpResponse<String> badBearer = factory.post("/model/acme%2Ftiny/converse", "fk_nope", BODY);
        assertThat(badBearer.statusCode()).isEqualTo(403);
        assertThat(badBearer.headers().firstValue("x-amzn-ErrorType")).hasValue("UnrecognizedClientException");
        assertThat(json(badBearer).has("error")).isFalse();

        HttpResponse<String> malformed = factory.send(factory.request("/model/acme%2Ftiny/converse", null)
                .header("Authorization", "AWS4-HMAC-SHA256 Credential=nonsense")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)));
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.headers().firstValue("x-amzn-ErrorType")).hasValue("IncompleteSignatureException");
    }

    /**
     * Signs {@code signedBody} with the SDK's signer at the time of {@code clock} and sends {@code sentBody} with
     * the resulting headers, as a client that tampers (or is tampered with) after signing would.
     */
    private static HttpResponse<String> sendSigned(String signedBody, String sentBody, Clock clock,
                                                   Map<String, String> extraHeaders, boolean payloadSigning) {
        return sendSigned(signedBody, sentBody, clock, extraHeaders, payloadSigning, Map.of());
    }

    /** As above, then replaces headers of the signed request with {@code replaced} before sending. */
    private static HttpResponse<String> sendSigned(String signedBody, String sentBody, Clock clock,
                                                   Map<String, String> extraHeaders, boolean payloadSigning,
                                                   Map<String, String> replaced) {
        URI uri = URI.create(factory.url() + "/model/acme%2Ftiny/converse");
        SdkHttpFullRequest.Builder request = SdkHttpFullRequest.builder().method(SdkHttpMethod.POST).uri(uri)
                .putHeader("Content-Type", "application/json");
        if (!payloadSigning) {
            request.protocol("https"); // the signer leaves payloads unsigned only over TLS
        }
        extraHeaders.forEach(request::putHeader);
        byte[] signedBytes = signedBody.getBytes(StandardCharsets.UTF_8);
        var signed = AwsV4HttpSigner.create().sign(r -> r
                .identity(AwsCredentialsIdentity.create(key.accessKeyId(), key.secretAccessKey()))
                .request(request.build())
                .payload(() -> new ByteArrayInputStream(signedBytes))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "bedrock")
                .putProperty(AwsV4HttpSigner.REGION_NAME, "eu-central-1")
                .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, payloadSigning)
                .putProperty(HttpSigner.SIGNING_CLOCK, clock));
        HttpRequest.Builder send = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(sentBody));
        Set<String> restricted = Set.of("host", "content-length", "connection", "expect", "upgrade");
        signed.request().headers().forEach((name, values) -> {
            String lower = name.toLowerCase(Locale.ROOT);
            if (!restricted.contains(lower) && !replaced.containsKey(lower)) {
                values.forEach(v -> send.header(name, v));
            }
        });
        replaced.forEach(send::header);
        try {
            return http.send(send.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
