package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** {@code GET /api/v1/me}: who the caller is and what it may do in its project. */
public final class SelfWire {
    private SelfWire() {}

    /**
     * @param signedInWith {@code session} (a person signed in through the identity provider), {@code token} (an
     *     OpenID Connect bearer token) or {@code key} (an API key, bearer or AWS)
     * @param allowed the actions the site's policies allow the caller in its own project, as Cedar decides them now
     * @param csrfToken for a session, what its calls that change something send back in {@code X-CSRF-Token}
     * @param expiresAt when a session ends; null for keys and tokens
     * @param signInAvailable whether people can sign in through the identity provider here ({@code /auth/login})
     */
    public record Self(String principalId, String name, String project, String role, String signedInWith,
                       List<String> allowed, @Nullable String csrfToken, @Nullable Instant expiresAt,
                       boolean signInAvailable) {
        public Self {
            requireNonNull(principalId, "principalId is null");
            allowed = List.copyOf(requireNonNull(allowed, "allowed is null"));
        }
    }
}
