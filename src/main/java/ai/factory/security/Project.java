package ai.factory.security;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/** A project (tenant): it owns models, deployments and keys. */
public record Project(String name, Instant createdAt, String createdBy) {
    public Project {
        requireNonNull(name, "name is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }
}
