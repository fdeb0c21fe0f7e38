package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.ApiKeys;
import ai.factory.security.Principal;
import io.javalin.http.Context;

/** Resolves the caller of every request but the health probes from its {@code Authorization: Bearer} key. */
public final class Authentication {
    private static final String PRINCIPAL = "factory.principal";

    private final ApiKeys keys;

    public Authentication(ApiKeys keys) {
        this.keys = requireNonNull(keys, "keys is null");
    }

    public static boolean isPublic(String path) {
        return path.startsWith("/health/");
    }

    public void authenticate(Context ctx) {
        if (isPublic(ctx.path())) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || header.isBlank()) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED,
                    "no API key given; send it as 'Authorization: Bearer <key>'");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED,
                    "unsupported Authorization scheme; send the API key as 'Authorization: Bearer <key>'");
        }
        Principal principal = keys.authenticate(header.substring(7).trim()).orElseThrow(() -> new FactoryException(
                ErrorCode.UNAUTHENTICATED, "the API key is not valid (unknown or revoked)"));
        ctx.attribute(PRINCIPAL, principal);
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
