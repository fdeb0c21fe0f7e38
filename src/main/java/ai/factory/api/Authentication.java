package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.ApiKeys;
import ai.factory.identity.Principal;
import ai.factory.security.SigV4Verifier;
import ai.factory.security.oidc.OidcSignIn;
import ai.factory.security.oidc.OidcTokens;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

/**
 * Resolves the caller of every request but the health probes: from its {@code Authorization: Bearer} key or
 * OpenID Connect token (with {@code auth.oidc.issuer} set), or, on the Amazon Bedrock paths, from an AWS Signature
 * Version 4 made with an access key.
 */
public final class Authentication {
    static final String PRINCIPAL = "factory.principal";
    private static final String SESSION = "factory.session";
    private static final String BY_TOKEN = "factory.byToken";
    /** The cookie that carries a signed-in person's session id. */
    public static final String SESSION_COOKIE = "factory_session";
    public static final String CSRF_HEADER = "X-CSRF-Token";

    private final ApiKeys keys;
    private final SigV4Verifier sigV4;
    private final Optional<OidcTokens> oidc;
    private final Optional<OidcSignIn> signIn;

    public Authentication(ApiKeys keys, SigV4Verifier sigV4, Optional<OidcTokens> oidc, Optional<OidcSignIn> signIn) {
        this.keys = requireNonNull(keys, "keys is null");
        this.sigV4 = requireNonNull(sigV4, "sigV4 is null");
        this.oidc = requireNonNull(oidc, "oidc is null");
        this.signIn = requireNonNull(signIn, "signIn is null");
    }

    /** The session a request's cookie names, while it lasts. */
    Optional<OidcSignIn.Session> session(Context ctx) {
        String id = ctx.cookie(SESSION_COOKIE);
        return id == null || signIn.isEmpty() ? Optional.empty() : signIn.get().session(id);
    }

    /**
     * A call made with a session cookie that changes something must send the session's CSRF token back in
     * {@value #CSRF_HEADER}: another site's page can make a browser send the cookie, never read the token.
     */
    static void checkCsrf(Context ctx, OidcSignIn.Session session) {
        String method = ctx.method().name();
        if (method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS")) {
            return;
        }
        String sent = ctx.header(CSRF_HEADER);
        if (sent == null || !java.security.MessageDigest.isEqual(sent.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                session.csrf().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
            throw new FactoryException(ErrorCode.FORBIDDEN, "a call made with a session cookie that changes something "
                    + "must send the session's CSRF token in the " + CSRF_HEADER + " header (GET /auth/session gives it)");
        }
    }

    public void authenticate(Context ctx) {
        ApiFamily family = ApiFamily.of(ctx);
        if (family == ApiFamily.PUBLIC) {
            return;
        }
        String header = ctx.header("Authorization");
        boolean aws = family == ApiFamily.BEDROCK;
        if ((header == null || header.isBlank()) && ctx.cookie(SESSION_COOKIE) != null) {
            OidcSignIn.Session session = session(ctx).orElseThrow(() -> new FactoryException(
                    ErrorCode.UNAUTHENTICATED, "the session has ended or is unknown; sign in again at /auth/login"));
            checkCsrf(ctx, session);
            ctx.attribute(PRINCIPAL, session.principal());
            ctx.attribute(SESSION, session);
            return;
        }
        if (header == null || header.isBlank()) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, aws
                    ? "Missing Authentication Token: sign the request with SigV4 (an access key from "
                            + "'factory keys create --aws') or send 'Authorization: Bearer <key>'"
                    : "no API key given; send it as 'Authorization: Bearer <key>'");
        }
        if (SigV4Verifier.isSigV4(header) && aws) {
            ctx.attribute(PRINCIPAL, sigV4.verify(signedRequest(ctx)));
            return;
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED,
                    "unsupported Authorization scheme; send the API key as 'Authorization: Bearer <key>'");
        }
        String bearer = header.substring(7).trim();
        if (OidcTokens.looksLikeJwt(bearer)) {
            // An OpenID Connect token (a workload's or a person's); API keys never have this shape.
            ctx.attribute(PRINCIPAL, oidc.orElseThrow(() -> new FactoryException(ErrorCode.UNAUTHENTICATED,
                    "this factory accepts no OpenID Connect tokens (auth.oidc.issuer is not set); send an API key"))
                    .authenticate(bearer));
            ctx.attribute(BY_TOKEN, Boolean.TRUE);
            return;
        }
        String invalid = "the API key is not valid (unknown or revoked)";
        // AWS clients tell an unknown credential from a missing one; OpenAI's shape names no part.
        Principal principal = keys.authenticate(bearer).orElseThrow(() -> aws
                ? FactoryException.unauthenticated("credential", invalid)
                : new FactoryException(ErrorCode.UNAUTHENTICATED, invalid));
        ctx.attribute(PRINCIPAL, principal);
    }

    /** The request as SigV4 sees it; the body is read here and Javalin keeps it for the handler. */
    private static SigV4Verifier.Request signedRequest(Context ctx) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(ctx.req().getHeaderNames())) {
            headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), n -> new ArrayList<>())
                    .addAll(Collections.list(ctx.req().getHeaders(name)));
        }
        // HTTP/2 carries the host as the :authority pseudo-header, which servlets do not list among the headers.
        // Clients sign it as 'host' (curl, the Java SDK) or by its own name (the JavaScript SDK): offer both.
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        String authority = request == null ? null : request.getHttpURI().getAuthority();
        if (authority != null && !headers.containsKey("host")) {
            headers.put("host", List.of(authority));
        }
        if (authority != null && !ctx.req().getProtocol().startsWith("HTTP/1")) {
            headers.put(SigV4Verifier.AUTHORITY, List.of(authority));
        }
        return new SigV4Verifier.Request(ctx.method().name(), ctx.req().getRequestURI(), ctx.queryString(), headers,
                ctx.bodyAsBytes());
    }

    /** The session a call was authenticated by, when it came with a session cookie rather than a key or token. */
    public static Optional<OidcSignIn.Session> sessionOf(Context ctx) {
        return Optional.ofNullable(ctx.attribute(SESSION));
    }

    /** Whether a call was authenticated by an OpenID Connect bearer token. */
    public static boolean byToken(Context ctx) {
        return Boolean.TRUE.equals(ctx.attribute(BY_TOKEN));
    }

    /** The authenticated caller; only routes behind authentication may ask. */
    public static Principal principal(Context ctx) {
        Principal p = ctx.attribute(PRINCIPAL);
        if (p == null) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "no authenticated principal on this request");
        }
        return p;
    }
}
