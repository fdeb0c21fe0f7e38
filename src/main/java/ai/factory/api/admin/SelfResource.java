package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Access;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.SelfWire.Self;
import ai.factory.identity.Principal;
import ai.factory.security.Action;
import ai.factory.security.Resource;
import io.javalin.http.Context;
import java.util.Arrays;
import java.util.List;

/**
 * {@code GET /api/v1/me}: the caller, how it signed in, and the actions the site's policies allow it in its own
 * project. The console reads it to show each person the pages they may use; every call it then makes is decided
 * again by the same policies.
 */
public final class SelfResource implements Routes {
    private final Access access;
    private final boolean signInAvailable;

    public SelfResource(Access access, boolean signInAvailable) {
        this.access = requireNonNull(access, "access is null");
        this.signInAvailable = signInAvailable;
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/me", Action.READ_SELF, Contract.of("Who the caller is and what it may do in its project",
                null, Self.class), this::self);
    }

    private void self(Context ctx) {
        Principal caller = access.caller(ctx);
        Resource.Project own = new Resource.Project(caller.project());
        List<String> allowed = Arrays.stream(Action.values()).filter(a -> access.allows(ctx, a, own))
                .map(Action::id).toList();
        var session = Authentication.sessionOf(ctx);
        String with = session.isPresent() ? "session" : Authentication.byToken(ctx) ? "token" : "key";
        ctx.header("Cache-Control", "no-store");
        ctx.json(new Self(caller.id(), caller.name(), caller.project(), caller.role().id(), with, allowed,
                session.map(s -> s.csrf()).orElse(null), session.map(s -> s.expiresAt()).orElse(null),
                signInAvailable));
    }
}
