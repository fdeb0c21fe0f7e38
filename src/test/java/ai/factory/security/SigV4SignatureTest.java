package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * The SigV4 computation against AWS's documented example and against the AWS SDK's own signer, for requests the
 * way each client signs them.
 */
class SigV4SignatureTest {
    private static final Pattern AUTHORIZATION = Pattern.compile(
            "AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=(\\p{XDigit}+)");

    @Test
    void matchesTheExampleInAwssDocumentation() {
        // IAM ListUsers, as AWS's "Create a signed AWS API request" guide works it through.
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("content-type", List.of("application/x-www-form-urlencoded; charset=utf-8"));
        headers.put("host", List.of("iam.amazonaws.com"));
        headers.put("x-amz-date", List.of("20150830T123600Z"));
        SigV4Verifier.Request request = new SigV4Verifier.Request("GET", "/", "Action=ListUsers&Version=2010-05-08",
                headers, new byte[0]);
        String signature = SigV4Verifier.signature(request, List.of("content-type", "host", "x-amz-date"),
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam", "20150830T123600Z",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true);
        assertThat(signature).isEqualTo("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    }

    @ParameterizedTest(name = "{0} {1}?{2}")
    @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
            POST | /model/acme%2Ftiny/converse                 | -
            POST | /model/acme%2Ftiny%3A1/converse-stream      | -
            POST | /model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aimported-model%2Fx/invoke | -
            GET  | /foundation-models                          | byProvider=Meta&byOutputModality=TEXT
            GET  | /imported-models                            | nextToken=a%2Bb%3D&maxResults=10
            GET  | /a/./b/../c                                 | -
            """)
    void agreesWithTheAwsSdkSigner(String method, String path, String query) {
        byte[] body = "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"h\u00e9\"}]}]}"
                .getBytes(StandardCharsets.UTF_8);
        Instant at = Instant.parse("2026-12-05T10:00:00Z");
        SdkHttpFullRequest.Builder unsigned = SdkHttpFullRequest.builder().method(SdkHttpMethod.fromValue(method))
                .protocol("https").host("127.0.0.1").port(8443).encodedPath(path)
                .putHeader("Content-Type", "application/json").putHeader("X-Custom", "  two   spaces ");
        if (query != null) {
            for (String pair : query.split("&")) {
                String[] kv = pair.split("=", 2);
                unsigned.putRawQueryParameter(java.net.URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
                        java.net.URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
            }
        }
        SignedRequest signed = AwsV4HttpSigner.create().sign(r -> r
                .identity(AwsCredentialsIdentity.create("AKIDEXAMPLE", "secret/of+the=key"))
                .request(unsigned.build())
                .payload(() -> new ByteArrayInputStream(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "bedrock")
                .putProperty(AwsV4HttpSigner.REGION_NAME, "eu-west-3")
                .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, true)
                .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(at, ZoneOffset.UTC)));
        Matcher m = AUTHORIZATION.matcher(signed.request().firstMatchingHeader("Authorization").orElseThrow());
        assertThat(m.matches()).isTrue();

        Map<String, List<String>> headers = new LinkedHashMap<>();
        signed.request().forEachHeader((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values));
        headers.put("host", List.of("127.0.0.1:8443"));
        String rawQuery = signed.request().encodedQueryParameters().orElse(null);
        SigV4Verifier.Request received = new SigV4Verifier.Request(method, path, rawQuery, headers, body);
        assertThat(SigV4Verifier.signature(received, List.of(m.group(5).split(";")), "secret/of+the=key", m.group(2),
                m.group(3), m.group(4), headers.get("x-amz-date").getFirst(),
                headers.get("x-amz-content-sha256").getFirst(), true)).isEqualTo(m.group(6));
    }

    @Test
    void theBodysHashStandsInWhenTheClientSendsNone() throws Exception {
        // As boto3 signs: host and x-amz-date (and content-type), no x-amz-content-sha256 header.
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("host", List.of("localhost:8080"));
        headers.put("x-amz-date", List.of("20261205T100000Z"));
        SigV4Verifier.Request request = new SigV4Verifier.Request("POST", "/model/a%2Fb/converse", null, headers, body);
        String bodyHash = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(body));
        String withHash = SigV4Verifier.signature(request, List.of("host", "x-amz-date"), "s", "20261205", "us-east-1",
                "bedrock", "20261205T100000Z", bodyHash, true);
        String unsigned = SigV4Verifier.signature(request, List.of("host", "x-amz-date"), "s", "20261205", "us-east-1",
                "bedrock", "20261205T100000Z", "UNSIGNED-PAYLOAD", true);
        assertThat(withHash).hasSize(64).isNotEqualTo(unsigned);
        assertThat(SigV4Verifier.signature(request, List.of("host", "x-amz-date", "content-type"), "s", "20261205",
                "us-east-1", "bedrock", "20261205T100000Z", bodyHash, true)).as("a signed header that is missing").isNull();
    }
}
