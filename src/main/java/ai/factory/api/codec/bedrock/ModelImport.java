package ai.factory.api.codec.bedrock;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * Bedrock's custom model import, with AWS's field names: CreateModelImportJob, GetModelImportJob,
 * ListModelImportJobs, and ListImportedModels, GetImportedModel, DeleteImportedModel. Times are ISO-8601 text, as
 * the SDKs read them; fields AWS leaves out when they do not apply are left out, not null.
 */
public final class ModelImport {
    private ModelImport() {}

    /** {@code POST /model-import-jobs}; {@code roleArn} and the rest of AWS's fields are accepted and ignored. */
    public record CreateJob(String jobName, String importedModelName, DataSource modelDataSource) {}

    /** {@code {"s3DataSource": {"s3Uri": ...}}}. */
    public record DataSource(S3DataSource s3DataSource) {
        public static DataSource of(String uri) {
            return new DataSource(new S3DataSource(uri));
        }
    }

    /** @param s3Uri here {@code file:///abs/model.gguf} or a folder holding one {@code .gguf} */
    public record S3DataSource(String s3Uri) {}

    public record CreatedJob(String jobArn) {
        public CreatedJob {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    /**
     * GetModelImportJob.
     *
     * @param status {@code InProgress}, {@code Completed} or {@code Failed}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Job(String jobArn, String jobName, String importedModelName, @Nullable String importedModelArn,
                      DataSource modelDataSource, String status, @Nullable String failureMessage, String creationTime,
                      String lastModifiedTime, @Nullable String endTime) {
        public Job {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    /** One job in ListModelImportJobs. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JobSummary(String jobArn, String jobName, String status, String lastModifiedTime,
                             String creationTime, @Nullable String endTime, @Nullable String importedModelArn,
                             String importedModelName) {
        public JobSummary {
            requireNonNull(jobArn, "jobArn is null");
        }
    }

    public record JobSummaries(List<JobSummary> modelImportJobSummaries) {
        public JobSummaries {
            modelImportJobSummaries = List.copyOf(requireNonNull(modelImportJobSummaries,
                    "modelImportJobSummaries is null"));
        }
    }

    /** One model in ListImportedModels. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ModelSummary(String modelArn, String modelName, String creationTime, Boolean instructSupported,
                               @Nullable String modelArchitecture) {
        public ModelSummary {
            requireNonNull(modelArn, "modelArn is null");
        }
    }

    public record ModelSummaries(List<ModelSummary> modelSummaries) {
        public ModelSummaries {
            modelSummaries = List.copyOf(requireNonNull(modelSummaries, "modelSummaries is null"));
        }
    }

    /** GetImportedModel; the job fields are those of the job that last imported it, when it is known. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ImportedModel(String modelArn, String modelName, @Nullable String jobName, @Nullable String jobArn,
                                @Nullable DataSource modelDataSource, String creationTime,
                                        @Nullable String modelArchitecture,
                                Boolean instructSupported) {
        public ImportedModel {
            requireNonNull(modelArn, "modelArn is null");
        }
    }

    /** DeleteImportedModel answers an empty object. */
    public record Deleted() {}
}
