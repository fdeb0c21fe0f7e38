package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.identity.Role;
import ai.factory.FactoryException;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which signed requests the verifier takes: the host signed by either of its names, and never by neither. */
class SigV4VerifierTest {
    private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");
    private static final byte[] BODY = "{}".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tempDir;

    Database db;
    SigV4Verifier verifier;
    CreatedAccessKey key;

    @BeforeEach
    void open() {
        db = TestDatabases.open(TestDatabases.Kind.H2, tempDir);
        ApiKeys keys = new ApiKeys(db.jdbi(), Clock.systemUTC(), MasterKey.loadOrCreate(tempDir.resolve("master.key")));
        key = keys.createAccessKey("sdk-app", null, Role.INVOKER, null);
        verifier = new SigV4Verifier(keys, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @AfterEach
    void close() {
        db.close();
    }

    /** The request with {@code signed} signed (each in {@code headers}) by the key's secret, or by {@code secret}. */
    private SigV4Verifier.Request signed(Map<String, List<String>> headers, List<String> signed, String secret) {
        SigV4Verifier.Request unsigned = new SigV4Verifier.Request("POST", "/model/acme%2Ftiny/converse", null,
                headers, BODY);
        String signature = SigV4Verifier.signature(unsigned, signed, secret, "20261205", "us-east-1", "bedrock",
                "20261205T100000Z", sha256(), true);
        Map<String, List<String>> withAuthorization = new LinkedHashMap<>(headers);
        withAuthorization.put("authorization", List.of("AWS4-HMAC-SHA256 Credential=" + key.accessKeyId()
                + "/20261205/us-east-1/bedrock/aws4_request, SignedHeaders=" + String.join(";", signed)
                + ", Signature=" + signature));
        return new SigV4Verifier.Request("POST", "/model/acme%2Ftiny/converse", null, withAuthorization, BODY);
    }

    private static String sha256() {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(BODY));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, List<String>> headers(String hostHeader) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put(hostHeader, List.of("127.0.0.1:8080"));
        headers.put("x-amz-date", List.of("20261205T100000Z"));
        headers.put("content-type", List.of("application/json"));
        return headers;
    }

    @Test
    void acceptsTheHostSignedAsHost() {
        assertThat(verifier.verify(signed(headers("host"), List.of("content-type", "host", "x-amz-date"),
                key.secretAccessKey())).name()).isEqualTo("sdk-app");
    }

    @Test
    void acceptsTheHostSignedAsHttp2Authority() {
        // As the JavaScript SDK signs over HTTP/2: ':authority' sorts first, and there is no 'host'.
        assertThat(verifier.verify(signed(headers(SigV4Verifier.AUTHORITY),
                List.of(SigV4Verifier.AUTHORITY, "content-type", "x-amz-date"), key.secretAccessKey())).name())
                .isEqualTo("sdk-app");
    }

    @Test
    void refusesASignatureThatLeavesTheHostOut() {
        assertThatThrownBy(() -> verifier.verify(signed(headers("host"), List.of("content-type", "x-amz-date"),
                key.secretAccessKey())))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("signature"))
                .hasMessageContaining("'host'").hasMessageContaining("':authority'");
    }

    @Test
    void refusesAnAuthoritySignedWithAnotherSecret() {
        assertThatThrownBy(() -> verifier.verify(signed(headers(SigV4Verifier.AUTHORITY),
                List.of(SigV4Verifier.AUTHORITY, "content-type", "x-amz-date"), "wrong" + key.secretAccessKey())))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("signature"))
                .hasMessageContaining("does not match");
    }
}
