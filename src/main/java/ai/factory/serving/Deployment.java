package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.models.ModelName;
import org.jspecify.annotations.Nullable;
import java.time.Instant;

/**
 * A model version placed in service, as it is at one moment; {@code project} is the project of the model it serves.
 */
public record Deployment(String id, String project, ModelName model, int version, DeploymentSpec spec,
                         DeploymentState state, Instant createdAt, String createdBy) {
    public Deployment {
        requireNonNull(id, "id is null");
        requireNonNull(project, "project is null");
        requireNonNull(model, "model is null");
        requireNonNull(spec, "spec is null");
        requireNonNull(state, "state is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    /** Why it failed, when it did; else null. */
    public @Nullable String reason() {
        return state instanceof DeploymentState.Failed f ? f.reason() : null;
    }

    Deployment withSpec(DeploymentSpec spec) {
        return new Deployment(id, project, model, version, spec, state, createdAt, createdBy);
    }

    Deployment withState(DeploymentState state) {
        return new Deployment(id, project, model, version, spec, state, createdAt, createdBy);
    }
}
