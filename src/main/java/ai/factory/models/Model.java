package ai.factory.models;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/**
 * A model with its versions, oldest first. It belongs to one project; its {@code classification} (e.g.
 * {@code internal}, {@code restricted}) is the label site policies decide on.
 */
public record Model(ModelName name, String project, String classification, Instant createdAt, String createdBy,
                    List<ModelVersion> versions) {
    public static final String DEFAULT_CLASSIFICATION = "internal";

    public Model {
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(classification, "classification is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
        versions = List.copyOf(requireNonNull(versions, "versions is null"));
    }

    public ModelVersion latest() {
        return versions.getLast();
    }
}
