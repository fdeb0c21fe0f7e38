package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.OidcConfig;
import ai.factory.security.oidc.OidcSignIn;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.net.URI;
import java.time.Instant;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * People's sign-in through the site's OpenID Connect provider ({@code auth.oidc.issuer} and {@code auth.oidc.clientId}):
 * <ul>
 * <li>{@code GET /auth/login?return=/path} sends the browser to the provider;
 * <li>{@code GET /auth/callback} takes its answer, sets the session cookie (HttpOnly, SameSite=Lax, Secure over TLS)
 *     and sends the person on to where they were going;
 * <li>{@code GET /auth/session} says who is signed in, with the CSRF token that calls changing something send back;
 * <li>{@code POST /auth/logout} ends the session (and answers where the provider's own session ends, when it offers
 *     RP-initiated logout);
 * <li>{@code GET /auth/cli} tells the command line ({@code factory login}) the issuer, its client id and the audience
 *     to ask tokens for, when {@code auth.oidc.cliClientId} is set.
 * </ul>
 * Every API accepts the session cookie in place of a key ({@link Authentication}).
 */
public final class SignInResource implements Routes {
    /** The cookie that ties a sign-in's answer to the browser that began it. */
    static final String LOGIN_COOKIE = "factory_signin";
    private final Optional<OidcSignIn> signIn;
    private final Authentication authentication;
    private final Optional<OidcConfig> oidc;
    private final Optional<URI> publicUrl;

    /** Who is signed in, the CSRF token their changes carry, and when the session ends. */
    public record SessionWire(String principalId, String name, String project, String role, String csrfToken,
                              Instant expiresAt) {}

    /** A session ended, and where the provider's own session ends (null when it offers no RP-initiated logout). */
    public record SignedOutWire(boolean signedOut, @Nullable String endSessionUrl) {}

    /**
     * Where the command line signs people in: the issuer, the public client it signs in as (device authorization
     * grant), the audience its tokens must name here (asked for as an RFC 8707 resource), and the scopes to ask.
     */
    public record CliWire(String issuer, String clientId, String audience, @Nullable String resource, String scope) {}

    /** @param publicUrl where people reach this factory ({@code server.publicUrl}); empty: as each request says */
    public SignInResource(Optional<OidcSignIn> signIn, Authentication authentication, Optional<OidcConfig> oidc,
                          Optional<URI> publicUrl) {
        this.signIn = requireNonNull(signIn, "signIn is null");
        this.authentication = requireNonNull(authentication, "authentication is null");
        this.oidc = requireNonNull(oidc, "oidc is null");
        this.publicUrl = requireNonNull(publicUrl, "publicUrl is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.signIn(HandlerType.GET, "/auth/login", Contract.of("Sign in through the site's identity provider",
                null, null), this::login);
        routes.signIn(HandlerType.GET, "/auth/callback", Contract.of("The identity provider's answer to a sign-in",
                null, null), this::callback);
        routes.signIn(HandlerType.GET, "/auth/session", Contract.of("Who is signed in",
                null, SessionWire.class), this::session);
        routes.signIn(HandlerType.POST, "/auth/logout", Contract.of("Sign out", null, SignedOutWire.class),
                this::logout);
        routes.signIn(HandlerType.GET, "/auth/cli", Contract.of("Where the command line signs people in",
                null, CliWire.class), this::cli);
    }

    private OidcSignIn signIn() {
        return signIn.orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "people's sign-in is not set up "
                + "here: it needs auth.oidc.issuer and auth.oidc.clientId (see docs/sso.md); use an API key or a token"));
    }

    private void login(Context ctx) {
        String target = ctx.queryParam("return");
        OidcSignIn.Started started = signIn().begin(URI.create(origin(ctx) + "/auth/callback"),
                target == null ? "/" : target);
        // SameSite=Lax: sent back on the provider's top-level redirect to the callback, never on another site's call.
        ctx.header("Set-Cookie", LOGIN_COOKIE + "=" + started.state() + "; Path=/auth/callback; HttpOnly; "
                + "SameSite=Lax; Max-Age=600" + (secure(ctx) ? "; Secure" : ""));
        ctx.header("Cache-Control", "no-store");
        ctx.redirect(started.authorize().toString(), io.javalin.http.HttpStatus.FOUND);
    }

    private void callback(Context ctx) {
        OidcSignIn signIn = signIn();
        String error = ctx.queryParam("error");
        if (error != null) {
            String description = ctx.queryParam("error_description");
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "the identity provider did not sign you in: "
                    + error + (description == null ? "" : " (" + description + ")") + "; try again at /auth/login");
        }
        String state = ctx.queryParam("state");
        String code = ctx.queryParam("code");
        if (state == null || state.isBlank() || code == null || code.isBlank()) {
            throw FactoryException.invalidParam(state == null || state.isBlank() ? "state" : "code",
                    "the identity provider's answer needs both 'state' and 'code'; sign in at /auth/login");
        }
        OidcSignIn.Opened opened = signIn.finish(state, code, ctx.cookie(LOGIN_COOKIE));
        ctx.res().addHeader("Set-Cookie", LOGIN_COOKIE + "=; Path=/auth/callback; HttpOnly; SameSite=Lax; Max-Age=0");
        ctx.res().addHeader("Set-Cookie", Authentication.SESSION_COOKIE + "=" + opened.id() + "; Path=/; HttpOnly; "
                + "SameSite=Lax; Max-Age=" + signIn.sessionLength().toSeconds() + (secure(ctx) ? "; Secure" : ""));
        ctx.header("Cache-Control", "no-store");
        ctx.redirect(opened.returnTo(), io.javalin.http.HttpStatus.SEE_OTHER);
    }

    private void session(Context ctx) {
        signIn();
        OidcSignIn.Session session = current(ctx);
        ctx.header("Cache-Control", "no-store");
        ctx.json(new SessionWire(session.principal().id(), session.principal().name(), session.principal().project(),
                session.principal().role().id(), session.csrf(), session.expiresAt()));
    }

    private void logout(Context ctx) {
        OidcSignIn signIn = signIn();
        OidcSignIn.Session session = current(ctx);
        Authentication.checkCsrf(ctx, session);
        Optional<URI> end = signIn.signOut(requireNonNull(ctx.cookie(Authentication.SESSION_COOKIE)), session,
                URI.create(origin(ctx) + "/console/"));
        ctx.header("Set-Cookie", Authentication.SESSION_COOKIE + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
                + (secure(ctx) ? "; Secure" : ""));
        ctx.json(new SignedOutWire(true, end.map(URI::toString).orElse(null)));
    }

    private void cli(Context ctx) {
        OidcConfig config = oidc.filter(c -> c.cliClientId().isPresent()).orElseThrow(() -> new FactoryException(
                ErrorCode.NOT_FOUND, "the command line's sign-in is not set up here: it needs auth.oidc.issuer and "
                        + "auth.oidc.cliClientId (see docs/sso.md); use an API key (--key or FACTORY_API_KEY)"));
        String audience = config.audiences().getFirst();
        // Entra ID names an API by an application id URI and takes it as a scope; its v2 endpoints refuse 'resource'.
        boolean asScope = audience.startsWith("api://");
        String scope = asScope ? "openid offline_access " + audience + "/.default" : "openid email offline_access";
        ctx.json(new CliWire(config.issuer().toString(), config.cliClientId().orElseThrow(), audience,
                asScope ? null : audience, scope));
    }

    private OidcSignIn.Session current(Context ctx) {
        return authentication.session(ctx).orElseThrow(() -> new FactoryException(ErrorCode.UNAUTHENTICATED,
                "not signed in (no session, or it has ended); sign in at /auth/login"));
    }

    /** This factory as people reach it: {@code server.publicUrl}, else as the browser's request says. */
    private String origin(Context ctx) {
        return publicUrl.map(URI::toString).orElseGet(() -> (secure(ctx) ? "https" : "http") + "://" + ctx.host());
    }

    /** Whether cookies go over TLS only: the request came over TLS, or people reach the factory at an https URL. */
    private boolean secure(Context ctx) {
        return "https".equals(ctx.scheme()) || publicUrl.map(u -> "https".equals(u.getScheme())).orElse(false);
    }
}
