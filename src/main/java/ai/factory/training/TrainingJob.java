package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.models.ModelName;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.Optional;

/**
 * A fine-tuning job as recorded: what it trains from and on, how, into which model, and how far it got.
 *
 * @param base the base model's name and version
 * @param baseSha256 the digest of the base model's weights file when the job was created
 * @param checkpointStep the step of the latest checkpoint (0: none yet); a restarted job resumes from it
 * @param outputVersion the version of {@code output} the job registered, once completed
 */
public record TrainingJob(String id, String name, String project, ModelName base, int baseVersion, String baseSha256,
                          DatasetRef training, Optional<DatasetRef> validation, Hyperparameters hyperparameters,
                          ModelName output, Status status, @Nullable String failure, int stepsDone, int totalSteps,
                          int epochsDone, @Nullable Double trainingLoss, @Nullable Double validationLoss,
                          int checkpointStep, @Nullable Integer outputVersion, Instant createdAt,
                          @Nullable Instant startedAt, @Nullable Instant endedAt, String createdBy) {
    /** Where a job is: queued until the trainer takes it, then in progress until it ends one of three ways. */
    public enum Status {
        QUEUED, IN_PROGRESS, STOPPING, STOPPED, COMPLETED, FAILED;

        public boolean ended() {
            return this == STOPPED || this == COMPLETED || this == FAILED;
        }
    }

    public TrainingJob {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(base, "base is null");
        requireNonNull(training, "training is null");
        requireNonNull(validation, "validation is null");
        requireNonNull(hyperparameters, "hyperparameters is null");
        requireNonNull(output, "output is null");
        requireNonNull(status, "status is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    /**
     * One point of a job's loss curve: an optimizer step's loss ({@code kind = step}) or an epoch's mean training and
     * validation loss ({@code kind = epoch}).
     */
    public record Metric(String kind, int step, int epoch, double loss, @Nullable Double validationLoss,
                         @Nullable Double learningRate, @Nullable Double tokensPerSecond, Instant at) {}
}
