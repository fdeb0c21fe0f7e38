package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.identity.Principal;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
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
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies AWS Signature Version 4 ({@code Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=…}) on a request as received, as AWS verifies it: the headers signed are whatever the client chose
 * (at least {@code host} and {@code x-amz-date}; over HTTP/2 the JavaScript SDK signs the {@code :authority}
 * pseudo-header in place of {@code host}, and AWS takes that too); {@code x-amz-content-sha256} is checked against the body when
 * sent, and the body's hash stands in for it when not (boto3, the JavaScript SDK and curl leave it out). The
 * signature is computed from what was signed (method, raw path and query, the signed headers, the payload hash)
 * and compared in constant time. Any region is accepted; the service must be one this factory speaks.
 */
public final class SigV4Verifier {
    public static final String SCHEME = "AWS4-HMAC-SHA256";
    /** How far a request's {@code x-amz-date} may be from the server's clock, either way (what AWS allows). */
    public static final Duration MAX_SKEW = Duration.ofMinutes(15);
    private static final Set<String> SERVICES = Set.of("bedrock", "bedrock-runtime");
    /** The HTTP/2 pseudo-header that names the host; {@link Request#headers} carries it under this name. */
    public static final String AUTHORITY = ":authority";
    private static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    /** The prefix of the payload hashes of chunk-signed bodies; such a body is not hashed whole. */
    private static final String STREAMING = "STREAMING-";
    private static final Pattern AUTHORIZATION = Pattern.compile(
            "AWS4-HMAC-SHA256\\s+Credential=([^,\\s]+)\\s*,\\s*SignedHeaders=([^,\\s]+)\\s*,\\s*Signature=([0-9a-fA-F]+)\\s*");
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final ApiKeys keys;
    private final Clock clock;

    public SigV4Verifier(ApiKeys keys, Clock clock) {
        this.keys = requireNonNull(keys, "keys is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * A request as it arrived.
     *
     * @param rawPath the path exactly as sent, still percent-encoded
     * @param rawQuery the query string as sent, or null
     * @param headers every header, names in lower case, values in the order received; over HTTP/2 also
     *     {@value #AUTHORITY}
     */
    public record Request(String method, String rawPath, @Nullable String rawQuery, Map<String, List<String>> headers,
                          byte[] body) {
        public Request {
            requireNonNull(method, "method is null");
            requireNonNull(rawPath, "rawPath is null");
            headers = Map.copyOf(headers);
            requireNonNull(body, "body is null");
        }

        @Nullable String header(String name) {
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

        if (request.header("x-amz-security-token") != null) {
            throw FactoryException.unauthenticated("credential", "temporary credentials (X-Amz-Security-Token) are "
                    + "not supported; sign with an access key from 'factory keys create --aws'");
        }
        checkDate(request, date);
        String contentHash = request.header("x-amz-content-sha256");
        String bodyHash = sha256Hex(request.body());
        if (contentHash != null && !UNSIGNED_PAYLOAD.equals(contentHash) && !contentHash.startsWith(STREAMING)
                && !MessageDigest.isEqual(contentHash.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII),
                        bodyHash.getBytes(StandardCharsets.US_ASCII))) {
            throw FactoryException.unauthenticated("signature",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        if (!signedHeaders.contains("host") && !signedHeaders.contains(AUTHORITY)) {
            throw FactoryException.unauthenticated("signature", "the 'host' header (':authority' over HTTP/2) must be signed");
        }
        if (!signedHeaders.contains("x-amz-date")) {
            throw FactoryException.unauthenticated("signature", "the 'x-amz-date' header must be signed");
        }

        String payloadHash = contentHash != null ? contentHash : bodyHash;
        String expected = signature(request, signedHeaders, key.secretAccessKey(), date, region, service,
                request.header("x-amz-date"), payloadHash, true);
        boolean matches = matches(expected, signature);
        if (!matches && request.rawPath().indexOf('%') >= 0) {
            // Some clients (curl before 8.x) encode the path once where AWS encodes it twice; accept their form too.
            matches = matches(signature(request, signedHeaders, key.secretAccessKey(), date, region, service,
                    request.header("x-amz-date"), payloadHash, false), signature);
        }
        if (!matches) {
            throw FactoryException.unauthenticated("signature", "The request signature we calculated does not "
                    + "match the signature you provided. Check your AWS Secret Access Key and signing method.");
        }
        return key.principal();
    }

    /** The request's x-amz-date: well formed, the credential's date, and within the allowed skew of the clock. */
    private void checkDate(Request request, String scopeDate) {
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
    }

    /**
     * The signature of the request as AWS defines it (the canonical request of the signed headers, the string to
     * sign, the HMAC-SHA256 key chain); null when a signed header is missing. Written here rather than taken from
     * the AWS SDK's signer because that signer always adds and signs {@code x-amz-content-sha256}, which boto3,
     * the JavaScript SDK and curl do not send: it can reproduce only the Java SDK's own signatures.
     *
     * @param payloadHash the hashed payload line: the {@code x-amz-content-sha256} the client sent, else the
     *     body's SHA-256
     * @param encodePath encode the path again as AWS does for every service but S3; false takes it as sent
     */
    static @Nullable String signature(Request request, List<String> signedHeaders, String secretAccessKey,
                                      String scopeDate, String region, String service, @Nullable String amzDate,
                                      String payloadHash, boolean encodePath) {
        StringBuilder canonical = new StringBuilder()
                .append(request.method()).append('\n')
                .append(encodePath ? canonicalPath(request.rawPath()) : request.rawPath()).append('\n')
                .append(canonicalQuery(request.rawQuery())).append('\n');
        for (String name : signedHeaders) {
            List<String> values = request.headers().get(name);
            if (values == null) {
                return null;
            }
            canonical.append(name).append(':').append(String.join(",", values.stream()
                    .map(v -> v.strip().replaceAll(" +", " ")).toList())).append('\n');
        }
        canonical.append('\n').append(String.join(";", signedHeaders)).append('\n').append(payloadHash);
        String scope = scopeDate + "/" + region + "/" + service + "/aws4_request";
        String stringToSign = SCHEME + "\n" + amzDate + "\n" + scope + "\n"
                + sha256Hex(canonical.toString().getBytes(StandardCharsets.UTF_8));
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), scopeDate);
        key = hmac(key, region);
        key = hmac(key, service);
        key = hmac(key, "aws4_request");
        return HexFormat.of().formatHex(hmac(key, stringToSign));
    }

    private static boolean matches(@Nullable String expected, String signature) {
        return expected != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * The path as AWS services other than S3 canonicalize it: the path as sent (already percent-encoded by the
     * client) is encoded once more, every byte but the unreserved characters and {@code /}, after removing
     * {@code .} and {@code ..} segments.
     */
    static String canonicalPath(String rawPath) {
        String path = rawPath.isEmpty() ? "/" : rawPath;
        List<String> segments = new ArrayList<>();
        for (String segment : path.split("/", -1)) {
            if (segment.equals("..")) {
                if (segments.size() > 1) {
                    segments.removeLast();
                }
            } else if (!segment.equals(".")) {
                segments.add(segment);
            }
        }
        return uriEncode(String.join("/", segments), false);
    }

    /** Parameters sorted by encoded name, then value; names and values decoded as sent, then encoded strictly. */
    static String canonicalQuery(@Nullable String rawQuery) {
        List<String> pairs = new ArrayList<>();
        query(rawQuery).forEach((name, values) -> values.forEach(v -> pairs.add(uriEncode(name, true) + "=" + uriEncode(v, true))));
        pairs.sort(null);
        return String.join("&", pairs);
    }

    /**
     * SigV4's URI encoding (RFC 3986): every byte but {@code A-Za-z0-9-_.~} percent-encoded, and {@code /} too when
     * {@code slash} (a query's names and values; not an object key's path).
     */
    public static String uriEncode(String s, boolean slash) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || (c == '/' && !slash)) {
                out.append(c);
            } else {
                out.append('%').append(HexFormat.of().withUpperCase().toHexDigits(b));
            }
        }
        return out.toString();
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every JDK", e);
        }
    }

    private static Map<String, List<String>> query(@Nullable String rawQuery) {
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
