package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.models.ModelName;
import java.time.Instant;

/**
 * A model version placed in service, as listed. {@code reason} says why it failed, when it did; {@code project} is
 * the project of the model it serves.
 */
public record Deployment(String id, String project, ModelName model, int version, DeploymentSpec spec,
                         DeploymentState state, String reason, Instant createdAt, String createdBy) {
    public Deployment {
        requireNonNull(id, "id is null");
        requireNonNull(project, "project is null");
        requireNonNull(model, "model is null");
        requireNonNull(spec, "spec is null");
        requireNonNull(state, "state is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    public Deployment withState(DeploymentState state, String reason) {
        return new Deployment(id, project, model, version, spec, state, reason, createdAt, createdBy);
    }
}
