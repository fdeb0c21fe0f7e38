package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.security.SigV4Verifier;
import ai.factory.storage.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

/**
 * The control plane's blob folder mirrored to an S3 bucket (AWS S3, or a site's own S3-compatible store: MinIO, Ceph's
 * RADOS Gateway), as a worker reads it: the object {@code PREFIX/keyed/OWNER/AB/SHA256} is the folder's file
 * {@code keyed/OWNER/AB/SHA256}, so {@code aws s3 sync BLOBS s3://BUCKET/PREFIX} (or rclone) from the control plane's
 * {@code blobs/} keeps it. The objects are ciphertext as the control plane stores them; a worker checks each against
 * its assignment's digest after decrypting it with the key only the control plane gives out.
 *
 * <p>A worker signs its requests with AWS Signature Version 4 (the AWS SDK's signer) and the standard AWS environment:
 * {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY} and {@code AWS_SESSION_TOKEN}; {@code AWS_REGION} (else
 * {@code AWS_DEFAULT_REGION}, else {@code us-east-1}); {@code AWS_ENDPOINT_URL_S3} (else {@code AWS_ENDPOINT_URL}) for
 * a store of the site's own, addressed by path ({@code ENDPOINT/BUCKET/KEY}); without one, AWS's regional endpoint by
 * virtual host ({@code https://BUCKET.s3.REGION.amazonaws.com/KEY}). Credentials from an instance profile or a web
 * identity are not read: give the worker keys, from a Secret on Kubernetes.
 */
public final class S3BlobMirror implements SharedBlobSource.Mirror {
    /** How a worker names a bucket: {@code s3://BUCKET[/PREFIX]}. */
    public static final String SCHEME = "s3://";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** How long a download may go without a byte before it is given up (and the blob fetched elsewhere). */
    static final Duration STALL = Duration.ofSeconds(60);

    private final String bucket;
    private final String prefix;
    private final String region;
    private final @Nullable URI endpoint;
    private final AwsCredentialsIdentity credentials;
    private final HttpClient http;
    private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();

    /**
     * @param location {@code s3://BUCKET[/PREFIX]}
     * @param endpoint the store's endpoint, addressed by path; null for AWS's regional endpoint, by virtual host
     * @throws FactoryException INVALID_REQUEST when {@code location} does not name a bucket
     */
    public S3BlobMirror(String location, @Nullable URI endpoint, String region, AwsCredentialsIdentity credentials) {
        requireNonNull(location, "location is null");
        if (!isBucket(location)) {
            throw FactoryException.invalidParam("shared-blobs", "an S3 location is s3://BUCKET[/PREFIX], not " + location);
        }
        String rest = location.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        this.bucket = slash < 0 ? rest : rest.substring(0, slash);
        String p = slash < 0 ? "" : rest.substring(slash + 1);
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        this.prefix = p;
        // S3's bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]") || List.of(prefix.split("/")).contains("..")) {
            throw FactoryException.invalidParam("shared-blobs", "'" + location + "' does not name an S3 bucket "
                    + "(s3://BUCKET[/PREFIX], the bucket 3 to 63 lower-case letters, digits, dots and hyphens)");
        }
        if (!requireNonNull(region, "region is null").matches("[a-z0-9-]{1,40}")) {
            throw FactoryException.invalidParam("shared-blobs", "AWS_REGION is not a region name: " + region);
        }
        this.region = region;
        this.endpoint = endpoint;
        this.credentials = requireNonNull(credentials, "credentials is null");
        // HTTP/1.1: its Host header is the host as signed (HTTP/2's :authority keeps an explicit default port).
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Whether {@code location} names a bucket ({@code s3://…}, in any case) rather than a folder. */
    public static boolean isBucket(String location) {
        return location.regionMatches(true, 0, SCHEME, 0, SCHEME.length());
    }

    /**
     * The bucket at {@code location}, reached as the AWS environment {@code env} says (see the class comment).
     *
     * @throws FactoryException INVALID_REQUEST when the location or the environment is not usable, saying what to set
     */
    public static S3BlobMirror fromEnvironment(String location, Map<String, String> env) {
        String id = env.get("AWS_ACCESS_KEY_ID");
        String secret = env.get("AWS_SECRET_ACCESS_KEY");
        if (id == null || id.isBlank() || secret == null || secret.isBlank()) {
            throw FactoryException.invalidParam("shared-blobs", "reading " + location + " needs AWS_ACCESS_KEY_ID and "
                    + "AWS_SECRET_ACCESS_KEY in the worker's environment (and AWS_SESSION_TOKEN for temporary keys)");
        }
        String token = env.get("AWS_SESSION_TOKEN");
        AwsCredentialsIdentity credentials = token == null || token.isBlank()
                ? AwsCredentialsIdentity.create(id, secret) : AwsSessionCredentialsIdentity.create(id, secret, token);
        String region = firstSet(env, "AWS_REGION", "AWS_DEFAULT_REGION");
        String endpoint = firstSet(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
        URI uri = null;
        if (endpoint != null) {
            try {
                uri = URI.create(endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint);
            } catch (IllegalArgumentException e) {
                uri = null;
            }
            if (uri == null || uri.getHost() == null || !List.of("http", "https").contains(uri.getScheme())) {
                throw FactoryException.invalidParam("shared-blobs", "AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) is "
                        + "not an http(s) URL: " + endpoint);
            }
        }
        return new S3BlobMirror(location, uri, region == null ? "us-east-1" : region, credentials);
    }

    private static @Nullable String firstSet(Map<String, String> env, String... names) {
        for (String name : names) {
            String v = env.get(name);
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return null;
    }

    /**
     * Checks that the bucket answers and these credentials may list the mirror's {@code keyed/} objects: a worker
     * checks before it joins, so that a wrong bucket or key costs no join token.
     *
     * @throws FactoryException INVALID_REQUEST with the store's answer when it does not
     */
    public S3BlobMirror check() throws InterruptedException {
        String query = "list-type=2&max-keys=1&prefix=" + SigV4Verifier.uriEncode(key("keyed/"), true);
        try {
            HttpResponse<InputStream> answer = send(uri("", query));
            try (InputStream body = answer.body()) {
                if (answer.statusCode() != 200) {
                    String region = answer.headers().firstValue("x-amz-bucket-region").orElse(null);
                    throw FactoryException.invalidParam("shared-blobs", "cannot list " + describe() + ": the store "
                            + "answered " + answer.statusCode() + " " + errorCode(body)
                            + (region == null || region.equals(this.region) ? "" : " (the bucket is in " + region + ")")
                            + "; check the bucket, AWS_REGION, AWS_ENDPOINT_URL_S3 and the keys");
                }
            }
        } catch (IOException e) {
            throw FactoryException.invalidParam("shared-blobs", "cannot reach " + describe() + " at " + host() + ": "
                    + e.getMessage());
        }
        return this;
    }

    @Override
    public boolean copy(String owner, String sha256, Path target) throws IOException, InterruptedException {
        Path relative = BlobStore.pathIn(Path.of(""), owner, sha256);
        String key = key(relative.toString().replace('\\', '/'));
        HttpResponse<InputStream> answer = send(uri(key, null));
        try (InputStream body = answer.body()) {
            if (answer.statusCode() == 404) {
                return false;
            }
            if (answer.statusCode() != 200) {
                throw new IOException(describe() + " answered " + answer.statusCode() + " " + errorCode(body)
                        + " for " + key);
            }
            copyWatched(body, target);
            return true;
        }
    }

    /**
     * Copies {@code body} to {@code target}, closing it (so the copy fails) when no byte came for {@link #STALL}: a
     * request's timeout covers its answer's headers only.
     */
    private static void copyWatched(InputStream body, Path target) throws IOException {
        java.util.concurrent.atomic.AtomicLong last = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        java.util.concurrent.atomic.AtomicBoolean stalled = new java.util.concurrent.atomic.AtomicBoolean();
        Thread watchdog = Thread.ofVirtual().name("s3-download-watchdog").start(() -> {
            try {
                while (true) {
                    Thread.sleep(Math.max(100, STALL.toMillis() / 10));
                    if (System.nanoTime() - last.get() > STALL.toNanos()) {
                        stalled.set(true);
                        body.close();
                        return;
                    }
                }
            } catch (InterruptedException | IOException e) {
                // the copy ended
            }
        });
        try (var out = Files.newOutputStream(target)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = body.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
                last.set(System.nanoTime());
            }
        } catch (IOException e) {
            throw stalled.get() ? new IOException("no byte came for " + STALL.toSeconds() + " s", e) : e;
        } finally {
            watchdog.interrupt();
        }
    }

    @Override
    public String describe() {
        return SCHEME + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    private String key(String relative) {
        return prefix.isEmpty() ? relative : prefix + "/" + relative;
    }

    private String host() {
        return endpoint != null ? endpoint.toString() : bucket + ".s3." + region + ".amazonaws.com";
    }

    /**
     * The object {@code key} (empty: the bucket), with {@code query} already encoded: by path at a site's own
     * endpoint, and on AWS for a bucket with dots in its name (AWS's certificates hold one name under
     * {@code s3.REGION.amazonaws.com}); else by virtual host.
     */
    private URI uri(String key, @Nullable String query) {
        String path = SigV4Verifier.uriEncode(key, false);
        boolean byPath = endpoint != null || bucket.contains(".");
        String origin = endpoint != null ? endpoint.toString() : "https://s3." + region + ".amazonaws.com";
        String base = byPath ? origin + "/" + bucket + (key.isEmpty() ? "/" : "/" + path)
                : "https://" + bucket + ".s3." + region + ".amazonaws.com/" + path;
        return URI.create(query == null ? base : base + "?" + query);
    }

    /** A signed GET of {@code uri}, the answer's body left to read. */
    private HttpResponse<InputStream> send(URI uri) throws IOException, InterruptedException {
        SdkHttpRequest unsigned = SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(uri)
                .putHeader("x-amz-content-sha256", "UNSIGNED-PAYLOAD").build();
        SdkHttpRequest signed = signer.sign(r -> r.identity(credentials).request(unsigned)
                .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "s3")
                .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                .putProperty(AwsV4FamilyHttpSigner.DOUBLE_URL_ENCODE, false)
                .putProperty(AwsV4FamilyHttpSigner.NORMALIZE_PATH, false)
                .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, false)).request();
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET();
        signed.forEachHeader((name, values) -> {
            if (!name.equalsIgnoreCase("host")) { // the client sets it, as it was signed
                values.forEach(v -> request.header(name, v));
            }
        });
        return http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    /** S3's error code in an error answer ({@code <Code>NoSuchBucket</Code>}), or nothing. */
    private static String errorCode(InputStream body) throws IOException {
        String text = new String(body.readNBytes(4096), StandardCharsets.UTF_8);
        int start = text.indexOf("<Code>");
        int end = text.indexOf("</Code>");
        return start >= 0 && end > start ? "(" + text.substring(start + 6, end) + ")" : "";
    }

}
