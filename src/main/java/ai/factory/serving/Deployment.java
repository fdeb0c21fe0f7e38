package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.models.ModelName;
import java.time.Instant;

/** A model version placed in service, as listed. {@code reason} says why it failed, when it did. */
public record Deployment(String id, ModelName model, int version, DeploymentSpec spec, DeploymentState state,
                         String reason, Instant createdAt, String createdBy) {
    public Deployment {
        requireNonNull(id, "id is null");
        requireNonNull(model, "model is null");
        requireNonNull(spec, "spec is null");
        requireNonNull(state, "state is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    public Deployment withState(DeploymentState state, String reason) {
        return new Deployment(id, model, version, spec, state, reason, createdAt, createdBy);
    }
}
