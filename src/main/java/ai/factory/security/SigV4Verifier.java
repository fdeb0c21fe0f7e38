package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.io.ByteArrayInputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * Verifies AWS Signature Version 4 ({@code Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=…}) on a request as received. The signature is not computed here by hand: the request is rebuilt
 * from what was signed (method, raw path and query, the signed headers, the body) and signed again with the
 * AWS SDK's own signer at the request's {@code x-amz-date}, then the two signatures are compared in constant
 * time. Any region is accepted; the service must be one this factory speaks.
 */
public final class SigV4Verifier {
    public static final String SCHEME = "AWS4-HMAC-SHA256";
    /** How far a request's {@code x-amz-date} may be from the server's clock, either way (what AWS allows). */
    public static final Duration MAX_SKEW = Duration.ofMinutes(15);
    private static final Set<String> SERVICES = Set.of("bedrock", "bedrock-runtime");
    private static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    private static final Pattern AUTHORIZATION = Pattern.compile(
            "AWS4-HMAC-SHA256\\s+Credential=([^,\\s]+)\\s*,\\s*SignedHeaders=([^,\\s]+)\\s*,\\s*Signature=([0-9a-fA-F]+)\\s*");
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final ApiKeys keys;
    private final Clock clock;
    private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();

    public SigV4Verifier(ApiKeys keys, Clock clock) {
        this.keys = requireNonNull(keys, "keys is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * A request as it arrived.
     *
     * @param rawPath the path exactly as sent, still percent-encoded
     * @param rawQuery the query string as sent, or null
     * @param headers every header, names in lower case, values in the order received
     */
    public record Request(String method, String rawPath, String rawQuery, Map<String, List<String>> headers,
                          byte[] body) {
        public Request {
            requireNonNull(method, "method is null");
            requireNonNull(rawPath, "rawPath is null");
            headers = Map.copyOf(headers);
            requireNonNull(body, "body is null");
        }

        String header(String name) {
            List<String> values = headers.get(name);
            return values == null || values.isEmpty() ? null : values.getFirst();
        }
    }

    public static boolean isSigV4(String authorization) {
        return authorization != null && authorization.startsWith(SCHEME + " ");
    }

    /** The principal whose key signed this request; UNAUTHENTICATED naming the part at fault otherwise. */
    public Principal verify(Request request) {
        Matcher m = AUTHORIZATION.matcher(request.header("authorization") == null ? "" : request.header("authorization"));
        if (!m.matches()) {
            throw FactoryException.unauthenticated("authorization", "Authorization header requires 'Credential', "
                    + "'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256)");
        }
        String[] scope = m.group(1).split("/", -1);
        if (scope.length != 5 || !"aws4_request".equals(scope[4])) {
            throw FactoryException.unauthenticated("authorization",
                    "the Credential must be ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request");
        }
        String accessKeyId = scope[0];
        String date = scope[1];
        String region = scope[2];
        String service = scope[3];
        List<String> signedHeaders = List.of(m.group(2).toLowerCase(Locale.ROOT).split(";"));
        String signature = m.group(3).toLowerCase(Locale.ROOT);
        if (!SERVICES.contains(service)) {
            throw FactoryException.unauthenticated("signature", "the credential is scoped to service '" + service
                    + "'; this endpoint accepts " + String.join(" or ", new TreeSet<>(SERVICES)));
        }
        AccessKeySecret key = keys.accessKey(accessKeyId).orElseThrow(() -> FactoryException.unauthenticated(
                "credential", "The security token included in the request is invalid (unknown or revoked access key)."));

        Instant signedAt = signedAt(request, date);
        String contentHash = request.header("x-amz-content-sha256");
        if (contentHash != null && !UNSIGNED_PAYLOAD.equals(contentHash)
                && !MessageDigest.isEqual(contentHash.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII),
                        sha256Hex(request.body()).getBytes(StandardCharsets.US_ASCII))) {
            throw FactoryException.unauthenticated("signature",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        if (!signedHeaders.contains("host")) {
            throw FactoryException.unauthenticated("signature", "the 'host' header must be signed");
        }

        String expected = expectedSignature(request, signedHeaders, key, region, service, signedAt,
                !UNSIGNED_PAYLOAD.equals(contentHash));
        if (expected == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII))) {
            throw FactoryException.unauthenticated("signature", "The request signature we calculated does not "
                    + "match the signature you provided. Check your AWS Secret Access Key and signing method.");
        }
        return key.principal();
    }

    private Instant signedAt(Request request, String scopeDate) {
        String amzDate = request.header("x-amz-date");
        if (amzDate == null) {
            throw FactoryException.unauthenticated("authorization", "the signed request has no 'x-amz-date' header");
        }
        Instant signedAt;
        try {
            signedAt = AMZ_DATE.parse(amzDate, Instant::from);
        } catch (DateTimeParseException e) {
            throw FactoryException.unauthenticated("authorization",
                    "'x-amz-date' must look like 20250101T120000Z, not '" + amzDate + "'");
        }
        if (!amzDate.startsWith(scopeDate)) {
            throw FactoryException.unauthenticated("signature",
                    "the Credential date " + scopeDate + " is not the date of 'x-amz-date' " + amzDate);
        }
        Instant now = clock.instant();
        if (Duration.between(signedAt, now).abs().compareTo(MAX_SKEW) > 0) {
            throw FactoryException.unauthenticated("signature", "Signature expired: " + amzDate
                    + " is now earlier than " + AMZ_DATE.format(now.minus(MAX_SKEW)) + " (" + AMZ_DATE.format(now)
                    + " - 15 min.)");
        }
        return signedAt;
    }

    /** Signs the request again with the SDK's signer; null when the signed headers are not all there. */
    private String expectedSignature(Request request, List<String> signedHeaders, AccessKeySecret key, String region,
                                     String service, Instant signedAt, boolean payloadSigned) {
        String host = request.header("host");
        if (host == null) {
            return null;
        }
        SdkHttpFullRequest.Builder rebuilt = SdkHttpFullRequest.builder()
                .method(SdkHttpMethod.fromValue(request.method()))
                // The scheme is not part of the signature; https lets the signer leave a payload unsigned.
                .protocol("https")
                .encodedPath(request.rawPath());
        int colon = host.lastIndexOf(':');
        if (colon > 0 && !host.endsWith("]") && host.substring(colon + 1).chars().allMatch(Character::isDigit)) {
            rebuilt.host(host.substring(0, colon)).port(Integer.parseInt(host.substring(colon + 1)));
        } else {
            rebuilt.host(host);
        }
        query(request.rawQuery()).forEach(rebuilt::putRawQueryParameter);
        for (String name : signedHeaders) {
            List<String> values = request.headers().get(name);
            if (values == null) {
                return null;
            }
            if (!"host".equals(name)) {
                rebuilt.putHeader(name, values);
            }
        }
        SignedRequest signed = signer.sign(r -> r
                .identity(AwsCredentialsIdentity.create(key.accessKeyId(), key.secretAccessKey()))
                .request(rebuilt.build())
                .payload(() -> new ByteArrayInputStream(request.body()))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, payloadSigned)
                .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(signedAt, ZoneOffset.UTC)));
        String authorization = signed.request().firstMatchingHeader("Authorization").orElse("");
        Matcher m = AUTHORIZATION.matcher(authorization);
        if (!m.matches() || !List.of(m.group(2).split(";")).equals(signedHeaders)) {
            return null;
        }
        return m.group(3).toLowerCase(Locale.ROOT);
    }

    private static Map<String, List<String>> query(String rawQuery) {
        Map<String, List<String>> out = new TreeMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return out;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return out;
    }

    private static String sha256Hex(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
