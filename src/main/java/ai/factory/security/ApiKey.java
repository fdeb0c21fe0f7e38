package ai.factory.security;

import static java.util.Objects.requireNonNull;

import ai.factory.identity.Principal;
import org.jspecify.annotations.Nullable;
import java.time.Instant;

/** An API key as listed: never its secret, only the first characters that help a person recognise it. */
public record ApiKey(String id, String prefix, Principal principal, Instant createdAt, @Nullable Instant revokedAt) {
    public ApiKey {
        requireNonNull(id, "id is null");
        requireNonNull(prefix, "prefix is null");
        requireNonNull(principal, "principal is null");
        requireNonNull(createdAt, "createdAt is null");
    }

    public boolean revoked() {
        return revokedAt != null;
    }
}
