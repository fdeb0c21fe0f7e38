package ai.factory.models;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** A model with its versions, oldest first. */
public record Model(ModelName name, String project, Instant createdAt, String createdBy, List<ModelVersion> versions) {
    public Model {
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
        versions = List.copyOf(requireNonNull(versions, "versions is null"));
    }

    public ModelVersion latest() {
        return versions.getLast();
    }
}
