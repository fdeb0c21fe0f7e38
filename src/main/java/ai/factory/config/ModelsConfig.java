package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The model registry.
 *
 * @param importRoot the folder under which Bedrock model import and customization jobs may read {@code file://}
 *     sources (and customization jobs write their metrics); none refuses them, so an API caller can't make the server
 *     read or write arbitrary files
 * @param builtin whether the factory registers and deploys the models it ships with (the embedding model
 *     {@code builtin/all-minilm-l6-v2}) at start; a site that brings its own, or a test that needs none, turns it off
 */
public record ModelsConfig(long maxUploadBytes, Optional<Path> importRoot, boolean builtin) {
    public ModelsConfig {
        if (maxUploadBytes < 1) {
            throw new IllegalArgumentException("models.maxUploadSize must be positive");
        }
        requireNonNull(importRoot, "importRoot is null");
    }
}
