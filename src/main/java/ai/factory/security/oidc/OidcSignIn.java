package ai.factory.security.oidc;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.config.OidcConfig;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.security.audit.AuditEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.JWTClaimsSet;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Consumer;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;

/**
 * People's sign-in through the site's OpenID Connect provider: the authorization code flow with PKCE (S256), a
 * {@code state} and a {@code nonce} per sign-in, and the ID token checked as access tokens are (signature, issuer,
 * expiry) for the factory's client id and that nonce. Its claims go through the role mapping, and the person gets a
 * session: a random id (256 bits) in an HttpOnly cookie, kept in the database only as its SHA-256, with a CSRF token
 * that every call changing something must send back, for {@code auth.oidc.sessionLength}. Then they sign in again
 * (without a prompt while the provider's own session lasts), and their groups are read anew, so a person removed from
 * a group loses the role at their next sign-in.
 *
 * <p>Sign-ins under way and sessions are rows in the database, so any control-plane replica takes the provider's
 * answer and the session's calls. Signing in and out is audited ({@code session.signIn}, {@code session.signOut},
 * refusals included) with the person's name.
 */
public final class OidcSignIn {
    public static final String SIGN_IN = "session.signIn";
    public static final String SIGN_OUT = "session.signOut";
    /** Sign-ins begun and not yet answered that may be kept at once (within the 10-minute window). */
    static final int MAX_PENDING = 10_000;
    /** How long a sign-in may take, from the redirect to the provider to its answer. */
    static final Duration LOGIN_WINDOW = Duration.ofMinutes(10);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final OidcConfig config;
    private final String clientId;
    private final OidcIssuer issuer;
    private final OidcTokens tokens;
    private final Jdbi jdbi;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;

    /** A person's session: who they are, the CSRF token their changes must carry, and when it ends. */
    public record Session(Principal principal, String csrf, Instant expiresAt) {}

    /** A session just opened: its id for the cookie, the session, and where the person goes next. */
    public record Opened(String id, Session session, String returnTo) {}

    public OidcSignIn(OidcConfig config, OidcIssuer issuer, OidcTokens tokens, Jdbi jdbi, Consumer<AuditEvent> audit,
                      Clock clock) {
        this.config = requireNonNull(config, "config is null");
        this.clientId = config.clientId().orElseThrow(() -> new IllegalArgumentException(
                "people's sign-in needs auth.oidc.clientId"));
        this.issuer = requireNonNull(issuer, "issuer is null");
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public Duration sessionLength() {
        return config.sessionLength();
    }

    /**
     * Starts a sign-in: where to send the person's browser (the provider's authorization endpoint, with this sign-in's
     * state, nonce and PKCE challenge), which answers to {@code redirectUri}; the person then lands on
     * {@code returnTo}, a path on this factory.
     */
    public Started begin(URI redirectUri, String returnTo) {
        URI authorize = issuer.discovery().authorizationEndpoint().orElseThrow(() -> new FactoryException(
                ErrorCode.UNAVAILABLE, "the identity provider " + issuer.issuer() + " names no authorization_endpoint"));
        String state = random(24);
        String verifier = random(48);
        String nonce = random(24);
        Instant now = clock.instant();
        jdbi.useTransaction(h -> {
            h.createUpdate("DELETE FROM oidc_logins WHERE created_at < :before")
                    .bind("before", Timestamp.from(now.minus(LOGIN_WINDOW))).execute();
            // Anyone may begin a sign-in: a flood of them is refused rather than written without end.
            long pending = h.createQuery("SELECT COUNT(*) FROM oidc_logins").mapTo(Long.class).one();
            if (pending >= MAX_PENDING) {
                throw new FactoryException(ErrorCode.RATE_LIMITED, "too many sign-ins are under way (" + pending
                        + " begun in the last " + LOGIN_WINDOW.toMinutes() + " minutes); try again in a minute");
            }
            h.createUpdate("INSERT INTO oidc_logins (state, verifier, nonce, redirect_uri, return_to, created_at) "
                            + "VALUES (:state, :verifier, :nonce, :redirect, :returnTo, :now)")
                    .bind("state", state).bind("verifier", verifier).bind("nonce", nonce)
                    .bind("redirect", redirectUri.toString()).bind("returnTo", localPath(returnTo))
                    .bind("now", Timestamp.from(now)).execute();
        });
        String query = "response_type=code&client_id=" + encode(clientId) + "&redirect_uri="
                + encode(redirectUri.toString()) + "&scope=" + encode("openid email groups") + "&state=" + state
                + "&nonce=" + nonce + "&code_challenge=" + challenge(verifier) + "&code_challenge_method=S256";
        return new Started(URI.create(authorize + (authorize.getRawQuery() == null ? "?" : "&") + query), state);
    }

    /**
     * A sign-in begun: where the browser goes, and the state, which the browser keeps in a cookie so that the answer
     * is taken only from the browser that asked (another's link cannot sign this browser in as someone else).
     */
    public record Started(URI authorize, String state) {}

    /**
     * Takes the provider's answer to a sign-in: exchanges {@code code} for tokens (with the sign-in's PKCE verifier),
     * checks the ID token, maps its claims and opens a session. INVALID_REQUEST for an unknown or expired
     * {@code state} (a sign-in is answered once), UNAUTHENTICATED when the provider refuses the code or the ID token
     * is not valid, FORBIDDEN when no role-mapping rule matches.
     */
    public Opened finish(String state, String code, @Nullable String browserState) {
        if (browserState == null || !MessageDigest.isEqual(state.getBytes(StandardCharsets.UTF_8),
                browserState.getBytes(StandardCharsets.UTF_8))) {
            audit.accept(event(null, SIGN_IN, AuditEvent.DENY, AuditEvent.FAILURE, 400,
                    "an answer for a sign-in this browser did not start"));
            throw FactoryException.invalidParam("state", "this sign-in was not started in this browser (or its "
                    + "cookies are off); sign in at /auth/login");
        }
        Login login = takeLogin(state);
        Principal principal;
        String idToken;
        try {
            idToken = exchange(code, login);
            JWTClaimsSet claims = tokens.verifyIdToken(idToken, clientId, login.nonce());
            principal = tokens.principal(claims);
        } catch (FactoryException e) {
            audit.accept(event(null, SIGN_IN, AuditEvent.DENY, AuditEvent.FAILURE, e.code().httpStatus(),
                    e.getMessage()));
            throw e;
        }
        String id = random(32);
        String csrf = random(24);
        Instant now = clock.instant();
        Instant expires = now.plus(config.sessionLength());
        jdbi.useTransaction(h -> {
            h.createUpdate("DELETE FROM oidc_sessions WHERE expires_at < :now").bind("now", Timestamp.from(now))
                    .execute();
            h.createUpdate("INSERT INTO oidc_sessions (id_hash, principal_id, principal_name, project, role, csrf, "
                            + "id_token, created_at, expires_at) VALUES (:hash, :pid, :name, :project, :role, :csrf, "
                            + ":idToken, :now, :expires)")
                    .bind("hash", hash(id)).bind("pid", principal.id()).bind("name", principal.name())
                    .bind("project", principal.project()).bind("role", principal.role().id()).bind("csrf", csrf)
                    .bind("idToken", idToken.length() <= 16_384 ? idToken : "")
                    .bind("now", Timestamp.from(now)).bind("expires", Timestamp.from(expires)).execute();
        });
        audit.accept(event(principal, SIGN_IN, AuditEvent.ALLOW, AuditEvent.SUCCESS, 200,
                "signed in through " + issuer.issuer() + " as " + principal.role().id() + " in project "
                        + principal.project() + " until " + expires));
        return new Opened(id, new Session(principal, csrf, expires), login.returnTo());
    }

    /** The session a cookie's id names, while it lasts. */
    public Optional<Session> session(String id) {
        if (id.isEmpty() || id.length() > 128) {
            return Optional.empty();
        }
        return jdbi.withHandle(h -> h.createQuery("SELECT principal_id, principal_name, project, role, csrf, "
                        + "expires_at FROM oidc_sessions WHERE id_hash = :hash AND expires_at > :now")
                .bind("hash", hash(id)).bind("now", Timestamp.from(clock.instant()))
                .map((rs, ctx) -> new Session(new Principal(rs.getString("principal_id"), rs.getString("principal_name"),
                        rs.getString("project"), Role.parse(rs.getString("role"))), rs.getString("csrf"),
                        rs.getTimestamp("expires_at").toInstant()))
                .findOne());
    }

    /**
     * Ends a session. Where the provider supports RP-initiated logout, the URL that ends the person's session there
     * too (and sends them back to {@code postLogout}).
     */
    public Optional<URI> signOut(String id, Session session, URI postLogout) {
        String idToken = jdbi.withHandle(h -> {
            Optional<String> token = h.createQuery("SELECT id_token FROM oidc_sessions WHERE id_hash = :hash")
                    .bind("hash", hash(id)).mapTo(String.class).findOne();
            h.createUpdate("DELETE FROM oidc_sessions WHERE id_hash = :hash").bind("hash", hash(id)).execute();
            return token.orElse("");
        });
        audit.accept(event(session.principal(), SIGN_OUT, AuditEvent.ALLOW, AuditEvent.SUCCESS, 200, "signed out"));
        Optional<URI> end;
        try {
            end = issuer.discovery().endSessionEndpoint();
        } catch (FactoryException e) {
            return Optional.empty(); // the provider is out of reach: the session here has ended all the same
        }
        return end.map(uri -> URI.create(uri + (uri.getRawQuery() == null ? "?" : "&") + "client_id="
                + encode(clientId) + "&post_logout_redirect_uri=" + encode(postLogout.toString())
                + (idToken.isEmpty() ? "" : "&id_token_hint=" + idToken)));
    }

    private record Login(String verifier, String nonce, String redirectUri, String returnTo) {}

    private Login takeLogin(String state) {
        Instant oldest = clock.instant().minus(LOGIN_WINDOW);
        Optional<Login> login = jdbi.inTransaction(h -> {
            Optional<Login> found = h.createQuery("SELECT verifier, nonce, redirect_uri, return_to FROM oidc_logins "
                            + "WHERE state = :state AND created_at >= :oldest")
                    .bind("state", state).bind("oldest", Timestamp.from(oldest))
                    .map((rs, ctx) -> new Login(rs.getString("verifier"), rs.getString("nonce"),
                            rs.getString("redirect_uri"), rs.getString("return_to")))
                    .findOne();
            // Taken once: an answer replayed, or a second tab's, finds nothing; of two at once, only the one whose
            // delete took the row goes on.
            int taken = h.createUpdate("DELETE FROM oidc_logins WHERE state = :state").bind("state", state).execute();
            return taken == 1 ? found : Optional.<Login>empty();
        });
        if (login.isEmpty()) {
            audit.accept(event(null, SIGN_IN, AuditEvent.DENY, AuditEvent.FAILURE, 400,
                    "an answer for an unknown, already answered or expired sign-in"));
        }
        return login.orElseThrow(() -> FactoryException.invalidParam("state", "this sign-in is unknown, already "
                + "answered or older than " + LOGIN_WINDOW.toMinutes() + " minutes; sign in again at /auth/login"));
    }

    /** The ID token the provider gives for {@code code}. */
    private String exchange(String code, Login login) {
        URI endpoint = issuer.discovery().tokenEndpoint().orElseThrow(() -> new FactoryException(
                ErrorCode.UNAVAILABLE, "the identity provider " + issuer.issuer() + " names no token_endpoint"));
        String form = "grant_type=authorization_code&code=" + encode(code) + "&redirect_uri="
                + encode(login.redirectUri()) + "&code_verifier=" + login.verifier()
                + (config.clientSecret().isPresent() ? "" : "&client_id=" + encode(clientId));
        String authorization = config.clientSecret().map(secret -> "Basic " + Base64.getEncoder().encodeToString(
                (encode(clientId) + ":" + encode(secret)).getBytes(StandardCharsets.UTF_8))).orElse(null);
        OidcIssuer.Answer answer;
        try {
            answer = issuer.fetcher().send(endpoint, form, authorization, "OpenID Connect sign-in at "
                    + issuer.issuer());
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the identity provider " + issuer.issuer()
                    + " cannot be reached to finish the sign-in (" + e.getMessage() + ")", e);
        }
        JsonNode body = json(answer.body());
        if (answer.status() / 100 != 2) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "the identity provider refused the sign-in's code: "
                    + body.path("error").asText("HTTP " + answer.status())
                    + (body.hasNonNull("error_description") ? " (" + body.path("error_description").asText() + ")" : ""));
        }
        String idToken = body.path("id_token").asText("");
        if (idToken.isEmpty()) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "the identity provider's answer has no ID token "
                    + "(is the openid scope allowed for client " + clientId + "?)");
        }
        return idToken;
    }

    private static JsonNode json(byte[] body) {
        try {
            return Json.mapper().readTree(body.length == 0 ? "{}" : new String(body, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Json.mapper().createObjectNode();
        }
    }

    private AuditEvent event(@Nullable Principal principal, String action, String decision, String outcome,
                             int status, String detail) {
        return new AuditEvent(clock.instant(), principal == null ? "anonymous" : principal.id(),
                principal == null ? "anonymous" : principal.name(), principal == null ? "" : principal.project(),
                action, "issuer=" + issuer.issuer(), decision, outcome, status, "browser", "", 0, 0, 0, 0, detail);
    }

    /**
     * A path on this factory to land on after signing in: a relative path, never another site (an open redirect
     * would hand the person to whoever wrote the link); anything else lands on {@code /}.
     */
    static String localPath(String returnTo) {
        boolean local = returnTo.startsWith("/") && !returnTo.startsWith("//") && !returnTo.contains("\\")
                && returnTo.length() <= 2000 && returnTo.chars().noneMatch(c -> c < 0x20 || c == 0x7f);
        return local ? returnTo : "/";
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String challenge(String verifier) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(verifier));
    }

    private static String hash(String id) {
        return HexFormat.of().formatHex(sha256(id));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
