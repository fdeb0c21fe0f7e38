package ai.factory.tenancy;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * A project (tenant): it owns models, deployments and keys.
 *
 * @param contentLogging whether the text of its inference calls is kept for its auditors (off by default)
 */
public record Project(String name, Instant createdAt, String createdBy, boolean contentLogging) {
    public Project {
        requireNonNull(name, "name is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }
}
