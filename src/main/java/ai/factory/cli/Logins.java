package ai.factory.cli;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;

/**
 * People's sign-ins of the command line ({@code factory login}), one per factory URL, kept in {@code logins.json}
 * under the user's configuration folder ({@code $XDG_CONFIG_HOME/sovereign-ai-factory}, else {@code
 * ~/.config/sovereign-ai-factory}; readable by the user alone): the access token the commands send as a bearer, and
 * the refresh token that gets a new one when it has ended. The tokens come from the site's identity provider by the
 * OAuth 2.0 device authorization grant (RFC 8628), as the factory's {@code GET /auth/cli} names it.
 */
final class Logins {
    /** A token that ends within this is refreshed before it is used. */
    private static final Duration MARGIN = Duration.ofSeconds(30);
    private static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

    private final Path file;
    private final HttpClient http;

    /** One factory's sign-in as kept. */
    record Login(String issuer, String clientId, @Nullable String resource, String tokenEndpoint,
                 @Nullable String revocationEndpoint, String accessToken, @Nullable String refreshToken,
                 Instant expiresAt) {}

    /** What the provider asks the person to do: open a page and confirm a code. */
    record Prompt(String verificationUri, @Nullable String verificationUriComplete, String userCode,
                  Duration expiresIn) {}

    Logins(Path file, @Nullable SSLContext tls) {
        this.file = requireNonNull(file, "file is null");
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .version(HttpClient.Version.HTTP_1_1);
        if (tls != null) {
            builder.sslContext(tls);
        }
        this.http = builder.build();
    }

    /** The user's logins file. */
    static Path defaultFile() {
        String config = System.getenv("XDG_CONFIG_HOME");
        Path base = config != null && !config.isBlank() ? Path.of(config)
                : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("sovereign-ai-factory").resolve("logins.json");
    }

    /** The factory URL as logins are filed under it: no trailing slash. */
    static String key(String factoryUrl) {
        return factoryUrl.replaceAll("/+$", "");
    }

    /**
     * Signs a person in by the device authorization grant: asks the provider for a code, hands {@code prompt} what
     * the person must do, then polls until they confirmed it (or refused, or the code ended). The caller keeps the
     * sign-in ({@link #save}) once the factory took its token.
     */
    Login signIn(String factoryUrl, JsonNode cli, Consumer<Prompt> prompt) throws IOException, InterruptedException {
        String issuer = cli.path("issuer").asText();
        String clientId = cli.path("clientId").asText();
        @Nullable String resource = cli.hasNonNull("resource") ? cli.path("resource").asText() : null;
        JsonNode discovery = get(URI.create(issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration"));
        if (!issuer.equals(discovery.path("issuer").asText())) {
            throw new IllegalStateException("the identity provider's discovery document names the issuer '"
                    + discovery.path("issuer").asText() + "', not '" + issuer + "' as the factory does");
        }
        @Nullable String revocation = discovery.hasNonNull("revocation_endpoint")
                ? discovery.path("revocation_endpoint").asText() : null;
        String deviceEndpoint = discovery.path("device_authorization_endpoint").asText("");
        String tokenEndpoint = discovery.path("token_endpoint").asText("");
        if (deviceEndpoint.isEmpty() || tokenEndpoint.isEmpty()) {
            throw new IllegalStateException("the identity provider at " + issuer + " offers no device authorization "
                    + "(its discovery document names no device_authorization_endpoint); sign in with a key instead");
        }
        JsonNode device = post(deviceEndpoint, form("client_id", clientId, "scope", cli.path("scope").asText(),
                "resource", resource));
        if (!device.has("device_code")) {
            throw new IllegalStateException("the identity provider refused the sign-in: " + problem(device));
        }
        prompt.accept(new Prompt(device.path("verification_uri").asText(),
                device.hasNonNull("verification_uri_complete") ? device.path("verification_uri_complete").asText() : null,
                device.path("user_code").asText(), Duration.ofSeconds(device.path("expires_in").asLong(600))));
        Duration interval = Duration.ofSeconds(Math.max(1, device.path("interval").asLong(5)));
        Instant end = Instant.now().plusSeconds(device.path("expires_in").asLong(600));
        while (Instant.now().isBefore(end)) {
            Thread.sleep(interval.toMillis());
            JsonNode answer = post(tokenEndpoint, Map.of("grant_type", DEVICE_GRANT,
                    "device_code", device.path("device_code").asText(), "client_id", clientId));
            String error = answer.path("error").asText("");
            switch (error) {
                case "" -> {
                    return login(issuer, clientId, resource, tokenEndpoint, revocation, answer, null);
                }
                case "authorization_pending" -> { }
                case "slow_down" -> interval = interval.plusSeconds(5);
                case "access_denied" -> throw new IllegalStateException("the sign-in was refused at the identity "
                        + "provider");
                case "expired_token" -> throw new IllegalStateException("the code ended before it was confirmed; "
                        + "run factory login again");
                default -> throw new IllegalStateException("the identity provider refused the sign-in: "
                        + problem(answer));
            }
        }
        throw new IllegalStateException("the code ended before it was confirmed; run factory login again");
    }

    /**
     * The access token of the sign-in kept for {@code factoryUrl}, refreshed first when it ended (and kept again);
     * empty when there is none. A sign-in that can no longer be refreshed is forgotten, and says so.
     */
    Optional<String> accessToken(String factoryUrl) {
        return locked(() -> {
            Optional<Login> kept = find(factoryUrl);
            if (kept.isEmpty()) {
                return Optional.empty();
            }
            Login login = kept.get();
            // Read under the lock: another command may have renewed it a moment ago.
            if (Instant.now().plus(MARGIN).isBefore(login.expiresAt())) {
                return Optional.of(login.accessToken());
            }
            if (login.refreshToken() == null) {
                forgetUnlocked(factoryUrl);
                throw new IllegalStateException("your sign-in to " + key(factoryUrl) + " has ended; run factory "
                        + "login again");
            }
            JsonNode answer;
            try {
                answer = post(login.tokenEndpoint(), form("grant_type", "refresh_token", "refresh_token",
                        login.refreshToken(), "client_id", login.clientId(), "resource", login.resource()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot renew your sign-in at " + login.tokenEndpoint() + ": "
                        + e.getMessage(), e);
            }
            if (answer.has("error") || !answer.has("access_token")) {
                forgetUnlocked(factoryUrl);
                throw new IllegalStateException("your sign-in to " + key(factoryUrl) + " has ended ("
                        + problem(answer) + "); run factory login again");
            }
            Login renewed = login(login.issuer(), login.clientId(), login.resource(), login.tokenEndpoint(),
                    login.revocationEndpoint(), answer, login.refreshToken());
            saveUnlocked(factoryUrl, renewed);
            return Optional.of(renewed.accessToken());
        });
    }

    Optional<Login> find(String factoryUrl) {
        return Optional.ofNullable(read().get(key(factoryUrl)));
    }

    /**
     * Forgets the sign-in kept for {@code factoryUrl}, first asking the provider to revoke its refresh token (RFC 7009)
     * where it offers revocation; whether there was one, and whether the provider confirmed the revocation.
     */
    Forgotten forget(String factoryUrl) {
        return locked(() -> {
            Optional<Login> kept = find(factoryUrl);
            boolean revoked = false;
            if (kept.isPresent() && kept.get().revocationEndpoint() != null && kept.get().refreshToken() != null) {
                try {
                    revoked = revoke(kept.get());
                } catch (IOException e) {
                    revoked = false; // forgotten here all the same; the provider's own expiry ends it
                }
            }
            return new Forgotten(forgetUnlocked(factoryUrl), revoked);
        });
    }

    /** What {@link #forget} did. */
    record Forgotten(boolean had, boolean revoked) {}

    private boolean revoke(Login login) throws IOException, InterruptedException {
        HttpResponse<String> r = send(requireNonNull(login.revocationEndpoint()), form("token", login.refreshToken(),
                "token_type_hint", "refresh_token", "client_id", login.clientId()));
        return r.statusCode() == 200;
    }

    private boolean forgetUnlocked(String factoryUrl) {
        Map<String, Login> all = read();
        boolean had = all.remove(key(factoryUrl)) != null;
        if (had) {
            write(all);
        }
        return had;
    }

    /** Keeps {@code login} as the sign-in to {@code factoryUrl}. */
    void save(String factoryUrl, Login login) {
        locked(() -> {
            saveUnlocked(factoryUrl, login);
            return Boolean.TRUE;
        });
    }

    /** What may fail while the logins file is locked. */
    private interface Work<T> {
        T run() throws IOException, InterruptedException;
    }

    /**
     * Runs {@code work} holding the lock on the logins file (a sibling {@code .lock} file), so that two commands
     * renewing the same sign-in at once do not both spend its refresh token, and no write is lost.
     */
    private <T> T locked(Work<T> work) {
        try {
            Files.createDirectories(file.getParent());
            try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(
                    file.resolveSibling(file.getFileName() + ".lock"), java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.WRITE);
                 java.nio.channels.FileLock ignored = channel.lock()) {
                return work.run();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use " + file + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static Login login(String issuer, String clientId, @Nullable String resource, String tokenEndpoint,
                               @Nullable String revocation, JsonNode answer, @Nullable String previousRefresh) {
        String refresh = answer.hasNonNull("refresh_token") ? answer.path("refresh_token").asText() : previousRefresh;
        return new Login(issuer, clientId, resource, tokenEndpoint, revocation, answer.path("access_token").asText(),
                refresh, Instant.now().plusSeconds(answer.path("expires_in").asLong(300)));
    }

    private void saveUnlocked(String factoryUrl, Login login) {
        Map<String, Login> all = read();
        all.put(key(factoryUrl), login);
        write(all);
    }

    private Map<String, Login> read() {
        if (!Files.isRegularFile(file)) {
            return new LinkedHashMap<>();
        }
        try {
            JsonNode tree = Json.mapper().readTree(Files.readString(file));
            Map<String, Login> out = new LinkedHashMap<>();
            for (var e : tree.properties()) {
                out.put(e.getKey(), Json.mapper().treeToValue(e.getValue(), Login.class));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (remove it and run factory login again): "
                    + e.getMessage(), e);
        }
    }

    /** Writes the file whole, readable by the user alone, replacing the old one at once. */
    private void write(Map<String, Login> all) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), ".logins", ".json",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                ObjectNode tree = Json.mapper().createObjectNode();
                all.forEach((k, v) -> tree.set(k, Json.mapper().valueToTree(v)));
                Files.writeString(tmp, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(tree));
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private JsonNode get(URI uri) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(15)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(uri + " answered " + r.statusCode());
        }
        return Json.mapper().readTree(r.body());
    }

    /** A form of name, value pairs; a pair whose value is null is left out. */
    private static Map<String, String> form(@Nullable String... pairs) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (pairs[i + 1] != null) {
                out.put(requireNonNull(pairs[i]), pairs[i + 1]);
            }
        }
        return out;
    }

    private HttpResponse<String> send(String endpoint, Map<String, String> form)
            throws IOException, InterruptedException {
        String body = form.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
        return http.send(HttpRequest.newBuilder(URI.create(endpoint)).timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode post(String endpoint, Map<String, String> form) throws IOException, InterruptedException {
        HttpResponse<String> r = send(endpoint, form);
        try {
            return Json.mapper().readTree(r.body());
        } catch (IOException e) {
            throw new IOException(endpoint + " answered " + r.statusCode() + " with no JSON");
        }
    }

    private static String problem(JsonNode answer) {
        String error = answer.path("error").asText("unknown error");
        String description = answer.path("error_description").asText("");
        return description.isEmpty() ? error : error + ": " + description;
    }
}
