package ai.factory.security.oidc;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.config.OidcConfig;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import com.nimbusds.jose.JOSEException;
import org.jspecify.annotations.Nullable;

/**
 * Checks a bearer token from the site's OpenID Connect provider and says who calls: the signature against the
 * issuer's published keys (fetched through the {@link OidcIssuer}, kept for five minutes, fetched again at once, at
 * most every 10 seconds, when a token names a key not yet seen: the provider rotated its keys), then {@code iss}
 * exactly, {@code aud} among the accepted audiences, {@code exp} and {@code nbf} within the clock-skew
 * bound, and a subject. The claims then go through the role mapping: the first rule that matches gives the caller its
 * project and role; a valid token no rule matches is refused as FORBIDDEN, so a person removed from a group loses the
 * role with their next token.
 *
 * <p>The principal's id is stable for a subject of an issuer ({@code oidc-} and 32 hex digits of a hash of both: the
 * audit trail's principal column keeps 64 characters); its name says who it is, by email where the token has one,
 * and the subject, which the audit trail records.
 */
public final class OidcTokens {
    private static final Pattern JWT_SHAPE = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");
    /** Key sets are kept this long, and fetched again at most this often when a token names an unknown key. */
    private static final long KEYS_TTL_MS = 5 * 60_000L;
    private static final long KEYS_REFRESH_TIMEOUT_MS = 10_000L;
    private static final long KEYS_MIN_INTERVAL_MS = 10_000L;
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384,
            JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256,
            JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.Ed25519, JWSAlgorithm.EdDSA);

    private final OidcConfig config;
    private final OidcIssuer issuer;
    private final Clock clock;
    private final List<Rule> rules;
    private @Nullable DefaultJWTProcessor<SecurityContext> processor;
    private @Nullable JWKSource<SecurityContext> keys;

    private record Rule(OidcConfig.RoleRule rule, Role role) {}

    public OidcTokens(OidcConfig config, OidcIssuer issuer, Clock clock) {
        this.config = requireNonNull(config, "config is null");
        this.issuer = requireNonNull(issuer, "issuer is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.rules = config.roleMapping().stream().map(r -> new Rule(r, role(r))).toList();
    }

    private static Role role(OidcConfig.RoleRule rule) {
        try {
            return Role.parse(rule.role());
        } catch (FactoryException e) {
            throw new IllegalArgumentException("auth.oidc.roleMapping: " + e.getMessage(), e);
        }
    }

    /** Whether {@code token} looks like a JWT (three base64url parts), not an API key. */
    public static boolean looksLikeJwt(String token) {
        return token.length() < 16_384 && JWT_SHAPE.matcher(token).matches();
    }

    public URI issuerUri() {
        return issuer.issuer();
    }

    /**
     * The caller a valid token names. UNAUTHENTICATED, saying why, for a token that is not valid (signature,
     * issuer, audience, time); FORBIDDEN for a valid one no role-mapping rule matches; UNAVAILABLE while the
     * provider's keys cannot be fetched.
     */
    public Principal authenticate(String token) {
        JWTClaimsSet claims = verify(token);
        if (claims.getClaim("nonce") != null) {
            // An ID token (a sign-in's, which carries the nonce it was asked for) says who signed in to a client; it
            // is no credential for the APIs, and the factory keeps its own for the sign-out hint.
            throw invalid("it is an ID token (it carries a nonce); the APIs take access tokens");
        }
        return principal(claims);
    }

    /** The claims of a valid token; see {@link #authenticate}. */
    public JWTClaimsSet verify(String token) {
        if (!looksLikeJwt(token)) {
            throw invalid("it is not a JWT");
        }
        return checked(processor(), token, "");
    }

    /**
     * {@code token}'s claims as {@code processor} checks them; {@code what} names the token in refusals (empty for a
     * bearer token).
     */
    private JWTClaimsSet checked(DefaultJWTProcessor<SecurityContext> processor, String token, String what) {
        try {
            return processor.process(token, null);
        } catch (ParseException e) {
            throw invalid(what + "it cannot be parsed (" + e.getMessage() + ")");
        } catch (BadJOSEException e) {
            throw invalid(what + reason(e.getMessage()));
        } catch (com.nimbusds.jose.jwk.source.RateLimitReachedException e) {
            // A key not seen, asked for again within the refetch bound: no key signs it, as far as is known.
            throw invalid(what + "its signature does not verify with the issuer's published keys");
        } catch (JOSEException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the keys of the identity provider " + issuer.issuer()
                    + " cannot be fetched (" + e.getMessage() + "); tokens cannot be checked until they can", e);
        }
    }

    /** The principal the role mapping gives {@code claims}; FORBIDDEN when no rule matches. */
    Principal principal(JWTClaimsSet claims) {
        for (Rule rule : rules) {
            if (matches(claims.getClaim(rule.rule().claim()), rule.rule().value())) {
                return new Principal(id(claims.getIssuer(), claims.getSubject()), name(claims), rule.rule().project(),
                        rule.role());
            }
        }
        throw new FactoryException(ErrorCode.FORBIDDEN, "the token of " + name(claims) + " is valid, but its claims "
                + "match no rule of auth.oidc.roleMapping, so it has no role here; ask an administrator to map one of "
                + "its groups to a project and role");
    }

    private static boolean matches(@Nullable Object claim, String value) {
        if (claim instanceof String s) {
            return s.equals(value);
        }
        if (claim instanceof List<?> list) {
            return list.stream().anyMatch(value::equals);
        }
        return claim != null && claim.toString().equals(value);
    }

    /** Stable for a subject of an issuer, and short enough for every principal column. */
    static String id(String iss, String subject) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((iss + "\n" + subject).getBytes(StandardCharsets.UTF_8));
            return "oidc-" + HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String name(JWTClaimsSet claims) {
        Object email = claims.getClaim("email");
        String subject = claims.getSubject();
        String name = email instanceof String e && !e.isBlank() ? e + " (sub " + subject + ")" : "sub " + subject;
        return name.length() <= 200 ? name : name.substring(0, 197) + "...";
    }

    static FactoryException invalid(String why) {
        return new FactoryException(ErrorCode.UNAUTHENTICATED, "the bearer token is not valid: " + why);
    }

    /** nimbus's reasons, said for a caller. */
    private static String reason(@Nullable String message) {
        String m = message == null ? "" : message;
        if (m.contains("Expired JWT")) {
            return "it has expired (exp)";
        }
        if (m.contains("before use time") || m.contains("nbf")) {
            return "it is not valid yet (nbf)";
        }
        if (m.contains("audience") || m.contains("aud claim")) {
            return "it is not for this factory (aud names none of auth.oidc.audience)";
        }
        if (m.contains("iss claim")) {
            return "it was not issued by auth.oidc.issuer (iss)";
        }
        if (m.contains("Invalid signature") || m.contains("no matching key")) {
            return "its signature does not verify with the issuer's published keys";
        }
        return m.isEmpty() ? "it was rejected" : m;
    }

    private synchronized DefaultJWTProcessor<SecurityContext> processor() {
        if (processor == null) {
            processor = processor(Set.copyOf(config.audiences()));
        }
        return processor;
    }

    /**
     * The claims of a valid ID token from a person's sign-in: checked as an access token is, but for the factory's
     * own client id as its audience, for the {@code nonce} its sign-in sent, and, when it names an authorized party
     * ({@code azp}, required with several audiences), for that being this client.
     */
    JWTClaimsSet verifyIdToken(String token, String clientId, String nonce) {
        JWTClaimsSet claims = checked(processor(Set.of(clientId)), token, "the ID token: ");
        if (!nonce.equals(claims.getClaim("nonce"))) {
            throw invalid("the ID token's nonce is not the one this sign-in sent (a replayed answer?)");
        }
        // OpenID Connect Core 3.1.3.7: a token for several audiences names the client it was issued to in azp.
        Object azp = claims.getClaim("azp");
        if ((azp != null || claims.getAudience().size() > 1) && !clientId.equals(azp)) {
            throw invalid("the ID token was issued to another client (azp " + azp + ", not " + clientId + ")");
        }
        return claims;
    }

    private synchronized JWKSource<SecurityContext> keys() {
        if (keys != null) {
            return keys;
        }
        OidcIssuer.Discovery discovery = issuer.discovery();
        try {
            keys = JWKSourceBuilder.<SecurityContext>create(discovery.jwksUri().toURL(), url -> {
                        try {
                            byte[] body = issuer.fetcher().fetch(url.toURI(), "OpenID Connect keys of "
                                    + issuer.issuer());
                            return new Resource(new String(body, StandardCharsets.UTF_8), "application/json");
                        } catch (URISyntaxException e) {
                            throw new IOException(e);
                        }
                    })
                    .cache(KEYS_TTL_MS, KEYS_REFRESH_TIMEOUT_MS)
                    .rateLimited(KEYS_MIN_INTERVAL_MS)
                    .refreshAheadCache(false)
                    .retrying(false)
                    .outageTolerant(false)
                    .build();
            return keys;
        } catch (java.net.MalformedURLException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the identity provider's jwks_uri is not a URL: "
                    + discovery.jwksUri(), e);
        }
    }

    private DefaultJWTProcessor<SecurityContext> processor(Set<String> audiences) {
        DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
        p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"),
                new JOSEObjectType("application/at+jwt"), null));
        p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys()));
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(audiences,
                new JWTClaimsSet.Builder().issuer(issuer.issuer().toString()).build(),
                Set.of("sub", "exp"), Set.of()) {
            @Override
            protected Date currentTime() {
                return Date.from(clock.instant());
            }
        };
        claims.setMaxClockSkew((int) config.clockSkew().toSeconds());
        p.setJWTClaimsSetVerifier(claims);
        return p;
    }
}
