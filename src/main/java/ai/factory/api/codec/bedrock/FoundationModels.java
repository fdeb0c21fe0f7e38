package ai.factory.api.codec.bedrock;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** Bedrock's ListFoundationModels and GetFoundationModel answers, with AWS's field names. */
public final class FoundationModels {
    private FoundationModels() {}

    /** {@code GET /foundation-models}. */
    public record ModelSummaries(List<Summary> modelSummaries) {
        public ModelSummaries {
            modelSummaries = List.copyOf(requireNonNull(modelSummaries, "modelSummaries is null"));
        }
    }

    /** {@code GET /foundation-models/{modelIdentifier}}. */
    public record ModelDetails(Summary modelDetails) {
        public ModelDetails {
            requireNonNull(modelDetails, "modelDetails is null");
        }
    }

    /** One model as AWS describes it: {@code outputModalities} is {@code TEXT} or {@code EMBEDDING}. */
    public record Summary(String modelArn, String modelId, String modelName, String providerName,
                          List<String> inputModalities, List<String> outputModalities,
                          boolean responseStreamingSupported, List<String> customizationsSupported,
                          List<String> inferenceTypesSupported, Lifecycle modelLifecycle) {
        public Summary {
            requireNonNull(modelArn, "modelArn is null");
            requireNonNull(modelId, "modelId is null");
            inputModalities = List.copyOf(inputModalities);
            outputModalities = List.copyOf(outputModalities);
            customizationsSupported = List.copyOf(customizationsSupported);
            inferenceTypesSupported = List.copyOf(inferenceTypesSupported);
            requireNonNull(modelLifecycle, "modelLifecycle is null");
        }
    }

    /** @param status {@code ACTIVE} */
    public record Lifecycle(String status) {}
}
