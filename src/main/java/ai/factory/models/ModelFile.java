package ai.factory.models;

import static java.util.Objects.requireNonNull;

/** One file of a model version: its name within the version and the blob holding it. */
public record ModelFile(String path, String sha256, long size) {
    public ModelFile {
        requireNonNull(path, "path is null");
        requireNonNull(sha256, "sha256 is null");
        if (size < 0) {
            throw new IllegalArgumentException("size is negative");
        }
    }
}
