package ai.factory.security;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/** A policy file the operator added to the site: Cedar source holding one or more policies. */
public record SitePolicy(String id, String source, Instant createdAt, String createdBy) {
    public SitePolicy {
        requireNonNull(id, "id is null");
        requireNonNull(source, "source is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }
}
