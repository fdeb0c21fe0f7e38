package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.models.ModelName;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.Optional;

/**
 * A job that imports a model file into the registry and deploys it (Bedrock's CreateModelImportJob).
 *
 * @param model the registry name the model gets, {@code imported/{importedModelName}}
 * @param failureMessage why it failed, when it did
 * @param endedAt when it completed or failed
 */
public record ModelImportJob(String id, String jobName, ModelName model, String sourceUri, Status status,
                             @Nullable String failureMessage, Instant createdAt, Instant modifiedAt, Optional<Instant> endedAt,
                             String createdBy) {
    /** Where a job is: in progress, then completed or failed. */
    public enum Status {
        IN_PROGRESS,
        COMPLETED,
        FAILED
    }

    public ModelImportJob {
        requireNonNull(id, "id is null");
        requireNonNull(jobName, "jobName is null");
        requireNonNull(model, "model is null");
        requireNonNull(sourceUri, "sourceUri is null");
        requireNonNull(status, "status is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(modifiedAt, "modifiedAt is null");
        requireNonNull(endedAt, "endedAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }
}
