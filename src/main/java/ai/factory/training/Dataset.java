package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.storage.Sha256;
import java.time.Instant;

/**
 * A stored dataset: what its upload held, checked, and whose it is. Its content is immutable; a new content is a new
 * upload under a name that is free (delete the old one first).
 *
 * @param sha256 the digest of the uploaded bytes (plaintext), which also names its encrypted blob in the project
 * @param classification the label site policies decide on, as a model's ({@code internal} unless given)
 */
public record Dataset(String id, DatasetName name, String project, DatasetFormat format, int records, long sizeBytes,
                      String sha256, String classification, Instant createdAt, String createdBy) {
    public Dataset {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(project, "project is null");
        requireNonNull(format, "format is null");
        Sha256.require(sha256);
        requireNonNull(classification, "classification is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    /** This dataset as a training job pins it: its name and the digest of the content it read. */
    public DatasetRef ref() {
        return new DatasetRef(name, sha256);
    }
}
