package ai.factory.config;

/** The model registry. */
public record ModelsConfig(long maxUploadBytes) {
    public ModelsConfig {
        if (maxUploadBytes < 1) {
            throw new IllegalArgumentException("models.maxUploadSize must be positive");
        }
    }
}
