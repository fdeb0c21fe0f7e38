package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.storage.Sha256;

/**
 * A dataset as a training job names it: by name and by the digest of its content, so a job never trains on other
 * data than it was given, even when the dataset was deleted and another uploaded under its name.
 */
public record DatasetRef(DatasetName name, String sha256) {
    public DatasetRef {
        requireNonNull(name, "name is null");
        Sha256.require(sha256);
    }

    @Override
    public String toString() {
        return name + "@sha256:" + sha256;
    }
}
