package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** {@code /api/v1/datasets}: fine-tuning datasets, uploaded as JSON Lines. */
public final class DatasetWire {
    private DatasetWire() {}

    /**
     * One stored dataset.
     *
     * @param format {@code bedrock-text}, {@code bedrock-conversation} or {@code openai-chat}
     * @param records how many records (lines that are not blank) it holds
     * @param sha256 the digest of the uploaded bytes
     */
    public record Dataset(String name, String id, String project, String format, int records, long sizeBytes,
                          String sha256, String classification, Instant createdAt, String createdBy) {
        public Dataset {
            requireNonNull(name, "name is null");
            requireNonNull(format, "format is null");
        }
    }

    public record DatasetList(List<Dataset> datasets) {
        public DatasetList {
            datasets = List.copyOf(requireNonNull(datasets, "datasets is null"));
        }
    }

    /** The dataset a delete removed, as {@code ns/name}. */
    public record Deleted(String deleted) {
        public Deleted {
            requireNonNull(deleted, "deleted is null");
        }
    }
}
