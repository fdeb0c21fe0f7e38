package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * A join token as it is listed: never its secret, which is shown once, when it is created.
 *
 * @param usesLeft how many more workers may join with it
 * @param uses how many have
 */
public record JoinToken(String id, Instant createdAt, Instant expiresAt, int usesLeft, int uses, boolean revoked,
                        String createdBy) {
    public JoinToken {
        requireNonNull(id, "id is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(expiresAt, "expiresAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    /** Whether a worker could join with it at {@code now}. */
    public boolean usable(Instant now) {
        return !revoked && usesLeft > 0 && now.isBefore(expiresAt);
    }
}
