package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** {@code /api/v1/training-jobs}: fine-tuning jobs. */
public final class TrainingJobWire {
    private TrainingJobWire() {}

    /**
     * A job to create.
     *
     * @param name the job's name (optional; made up when absent)
     * @param baseModel the model to fine-tune, {@code ns/name} or {@code ns/name:version}
     * @param trainingDataset the dataset to train on, {@code ns/name}
     * @param validationDataset the dataset that measures validation loss (optional)
     * @param outputModel the model the result is registered as, {@code ns/name}
     * @param project the project the job, its data and its result belong to (the caller's when absent)
     * @param hyperparameters names to values, as strings or numbers: {@code epochCount}, {@code learningRate},
     *     {@code learningRateWarmupSteps}, {@code batchSize}, {@code contextLength}, {@code trainLayers},
     *     {@code validationSplit}, {@code checkpointSteps}, {@code seed}
     */
    public record CreateJob(@Nullable String name, String baseModel, String trainingDataset,
                            @Nullable String validationDataset, String outputModel, @Nullable String project,
                            @Nullable Map<String, Object> hyperparameters) {
        public CreateJob {
            requireNonNull(baseModel, "baseModel is null");
            requireNonNull(trainingDataset, "trainingDataset is null");
            requireNonNull(outputModel, "outputModel is null");
        }
    }

    /**
     * A job as recorded.
     *
     * @param status {@code queued}, {@code in-progress}, {@code stopping}, {@code stopped}, {@code completed} or
     *     {@code failed}
     * @param outputVersion the version of {@code outputModel} it registered, once completed
     * @param trainingLoss the last step's loss while an epoch runs, the epoch's mean once it ends
     */
    public record Job(String id, String name, String project, String status, @Nullable String failure,
                      String baseModel, String baseSha256, String trainingDataset, String trainingSha256,
                      @Nullable String validationDataset, @Nullable String validationSha256,
                      Map<String, String> hyperparameters, String outputModel, @Nullable Integer outputVersion,
                      int stepsDone, int totalSteps, int epochsDone, @Nullable Double trainingLoss,
                      @Nullable Double validationLoss, int checkpointStep, Instant createdAt,
                      @Nullable Instant startedAt, @Nullable Instant endedAt, String createdBy) {}

    public record JobList(List<Job> jobs) {
        public JobList {
            jobs = List.copyOf(requireNonNull(jobs, "jobs is null"));
        }
    }

    /** One point of the loss curve: {@code kind} {@code step} or {@code epoch}. */
    public record Metric(String kind, int step, int epoch, double loss, @Nullable Double validationLoss,
                         @Nullable Double learningRate, @Nullable Double tokensPerSecond, Instant at) {}

    public record Metrics(String job, List<Metric> metrics) {
        public Metrics {
            metrics = List.copyOf(requireNonNull(metrics, "metrics is null"));
        }
    }
}
