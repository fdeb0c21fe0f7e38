package ai.factory.api.codec.bedrock;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.Map;

/**
 * Bedrock's model customization, with AWS's field names: CreateModelCustomizationJob, GetModelCustomizationJob,
 * ListModelCustomizationJobs, StopModelCustomizationJob, and GetCustomModel, ListCustomModels, DeleteCustomModel.
 * Times are ISO-8601 text, as the SDKs read them; fields AWS leaves out when they do not apply are left out.
 */
public final class ModelCustomization {
    private ModelCustomization() {}

    /**
     * {@code POST /model-customization-jobs}. {@code roleArn} is accepted and ignored (the factory reads its data
     * itself, with no IAM role); tags, KMS keys, VPC and the other fields AWS defines are ignored likewise.
     *
     * @param hyperParameters names to values as strings, Bedrock's names and the factory's own
     */
    public record CreateJob(String jobName, String customModelName, @Nullable String roleArn,
                            @Nullable String clientRequestToken, String baseModelIdentifier,
                            @Nullable String customizationType, @Nullable Map<String, String> hyperParameters,
                            TrainingDataConfig trainingDataConfig, @Nullable ValidationDataConfig validationDataConfig,
                            OutputDataConfig outputDataConfig) {}

    /** @param s3Uri here {@code file:///abs/data.jsonl} under the import root, or {@code factory-dataset://NS/NAME} */
    public record TrainingDataConfig(String s3Uri) {}

    public record ValidationDataConfig(List<Validator> validators) {}

    public record Validator(String s3Uri) {}

    /** @param s3Uri here a {@code file:///abs/folder} under the import root; the job's metrics files go there */
    public record OutputDataConfig(String s3Uri) {}

    public record CreatedJob(String jobArn) {
        public CreatedJob {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    public record TrainingMetrics(double trainingLoss) {}

    public record ValidatorMetric(double validationLoss) {}

    /**
     * GetModelCustomizationJob.
     *
     * @param status {@code InProgress} (queued or training), {@code Stopping}, {@code Stopped}, {@code Completed} or
     *     {@code Failed}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Job(String jobArn, String jobName, String outputModelName, @Nullable String outputModelArn,
                      @Nullable String clientRequestToken, String status, @Nullable String failureMessage,
                      String creationTime, String lastModifiedTime, @Nullable String endTime, String baseModelArn,
                      Map<String, String> hyperParameters, TrainingDataConfig trainingDataConfig,
                      @Nullable ValidationDataConfig validationDataConfig, OutputDataConfig outputDataConfig,
                      String customizationType, @Nullable TrainingMetrics trainingMetrics,
                      @Nullable List<ValidatorMetric> validationMetrics) {
        public Job {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    /** One job in ListModelCustomizationJobs. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JobSummary(String jobArn, String baseModelArn, String jobName, String status,
                             String lastModifiedTime, String creationTime, @Nullable String endTime,
                             @Nullable String customModelArn, String customModelName, String customizationType) {
        public JobSummary {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JobSummaries(@Nullable String nextToken, List<JobSummary> modelCustomizationJobSummaries) {
        public JobSummaries {
            modelCustomizationJobSummaries = List.copyOf(requireNonNull(modelCustomizationJobSummaries,
                    "modelCustomizationJobSummaries is null"));
        }
    }

    /** StopModelCustomizationJob and DeleteCustomModel answer an empty object. */
    public record Empty() {}

    /** One model in ListCustomModels. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ModelSummary(String modelArn, String modelName, String creationTime, @Nullable String baseModelArn,
                               @Nullable String baseModelName, String customizationType, String modelStatus,
                               String ownerAccountId) {
        public ModelSummary {
            requireNonNull(modelArn, "modelArn is null");
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ModelSummaries(@Nullable String nextToken, List<ModelSummary> modelSummaries) {
        public ModelSummaries {
            modelSummaries = List.copyOf(requireNonNull(modelSummaries, "modelSummaries is null"));
        }
    }

    /** GetCustomModel; the job fields are those of the job that made it, when it is known. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CustomModel(String modelArn, String modelName, @Nullable String jobName, @Nullable String jobArn,
                              @Nullable String baseModelArn, String customizationType,
                              @Nullable Map<String, String> hyperParameters,
                              @Nullable TrainingDataConfig trainingDataConfig,
                              @Nullable ValidationDataConfig validationDataConfig,
                              @Nullable OutputDataConfig outputDataConfig, @Nullable TrainingMetrics trainingMetrics,
                              @Nullable List<ValidatorMetric> validationMetrics, String creationTime,
                              String modelStatus) {
        public CustomModel {
            requireNonNull(modelArn, "modelArn is null");
        }
    }
}
