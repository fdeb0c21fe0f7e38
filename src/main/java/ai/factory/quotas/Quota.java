package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/** The limits set on one scope, and who set them when. */
public record Quota(QuotaScope scope, Limits limits, Instant updatedAt, String updatedBy) {
    public Quota {
        requireNonNull(scope, "scope is null");
        requireNonNull(limits, "limits is null");
        requireNonNull(updatedAt, "updatedAt is null");
        requireNonNull(updatedBy, "updatedBy is null");
    }
}
