package ai.factory.security.oidc;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The site's OpenID Connect provider as the factory sees it: its discovery document
 * ({@code /.well-known/openid-configuration}), read on first need and kept, and every fetch from it through a
 * {@link Fetcher} (which the factory wires to its egress gate, so each one is checked against {@code egress.allow} and
 * recorded in the ledger). A provider that cannot be reached is asked again at most every {@link #RETRY}; until then
 * calls that need it fail with UNAVAILABLE, naming the issuer.
 */
public final class OidcIssuer {
    static final Duration RETRY = Duration.ofSeconds(5);

    private final URI issuer;
    private final Fetcher fetcher;
    private final Clock clock;
    private @Nullable Discovery discovery;
    private @Nullable FactoryException lastFailure;
    private Instant retryAt = Instant.MIN;

    /** Sends the OpenID Connect client's requests; the factory's egress gate in production. */
    public interface Fetcher {
        /**
         * Sends a GET ({@code form} null) or a POST of {@code form} (application/x-www-form-urlencoded), with
         * {@code authorization} as its Authorization header when not null; IOException when no answer came.
         */
        Answer send(URI uri, @Nullable String form, @Nullable String authorization, String purpose) throws IOException;

        /** The body of a successful (2xx) answer to a GET; IOException for anything else, saying why. */
        default byte[] fetch(URI uri, String purpose) throws IOException {
            Answer answer = send(uri, null, null, purpose);
            if (answer.status() / 100 != 2) {
                throw new IOException("GET " + uri + " answered HTTP " + answer.status());
            }
            return answer.body();
        }
    }

    /** An HTTP answer: its status and body. */
    public record Answer(int status, byte[] body) {
        public Answer {
            requireNonNull(body, "body is null");
        }
    }

    /** The provider's endpoints, from its discovery document. */
    public record Discovery(URI jwksUri, Optional<URI> authorizationEndpoint, Optional<URI> tokenEndpoint,
                            Optional<URI> endSessionEndpoint, Optional<URI> deviceAuthorizationEndpoint) {
        public Discovery {
            requireNonNull(jwksUri, "jwksUri is null");
        }
    }

    public OidcIssuer(URI issuer, Fetcher fetcher, Clock clock) {
        this.issuer = requireNonNull(issuer, "issuer is null");
        this.fetcher = requireNonNull(fetcher, "fetcher is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public URI issuer() {
        return issuer;
    }

    Fetcher fetcher() {
        return fetcher;
    }

    /** The discovery document, fetched the first time and kept. */
    public synchronized Discovery discovery() {
        if (discovery != null) {
            return discovery;
        }
        Instant now = clock.instant();
        if (lastFailure != null && now.isBefore(retryAt)) {
            throw lastFailure;
        }
        String base = issuer.toString().endsWith("/") ? issuer.toString() : issuer + "/";
        URI uri = URI.create(base + ".well-known/openid-configuration");
        try {
            Discovery found = parse(fetcher.fetch(uri, "OpenID Connect discovery of " + issuer));
            discovery = found;
            lastFailure = null;
            return found;
        } catch (IOException | RuntimeException e) {
            FactoryException failure = new FactoryException(ErrorCode.UNAVAILABLE, "the identity provider " + issuer
                    + " cannot be reached or answered badly (" + e.getMessage() + "); tokens cannot be checked until "
                    + "it can", e);
            lastFailure = failure;
            // From the failure, not the attempt: a fetch that timed out must not leave the window already passed.
            retryAt = clock.instant().plus(RETRY);
            throw failure;
        }
    }

    private Discovery parse(byte[] body) {
        JsonNode doc;
        try {
            doc = Json.mapper().readTree(new String(body, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("its discovery document is not JSON", e);
        }
        String named = doc.path("issuer").asText("");
        if (!named.equals(issuer.toString())) {
            throw new IllegalStateException("its discovery document names the issuer '" + named + "', not '" + issuer
                    + "' (auth.oidc.issuer must be exactly the provider's issuer)");
        }
        String jwks = doc.path("jwks_uri").asText("");
        if (jwks.isEmpty()) {
            throw new IllegalStateException("its discovery document has no jwks_uri");
        }
        return new Discovery(URI.create(jwks), endpoint(doc, "authorization_endpoint"), endpoint(doc, "token_endpoint"),
                endpoint(doc, "end_session_endpoint"), endpoint(doc, "device_authorization_endpoint"));
    }

    private static Optional<URI> endpoint(JsonNode doc, String name) {
        String value = doc.path(name).asText("");
        return value.isEmpty() ? Optional.empty() : Optional.of(URI.create(value));
    }
}
