package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.bedrock.FoundationModels;
import ai.factory.api.codec.bedrock.FoundationModels.ModelDetails;
import ai.factory.api.codec.bedrock.FoundationModels.ModelSummaries;
import ai.factory.api.codec.bedrock.FoundationModels.Summary;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.security.Action;
import ai.factory.serving.Deployment;
import ai.factory.serving.Deployments;
import ai.factory.serving.ModelImports;
import ai.factory.training.ModelCustomizations;
import io.javalin.http.Context;
import org.jspecify.annotations.Nullable;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * Bedrock's ListFoundationModels and GetFoundationModel ({@code GET /foundation-models[/{modelIdentifier}]}).
 * The factory's foundation models are those that can be invoked now: the models with a ready deployment, less
 * the imported and custom ones, which Bedrock lists as imported and custom models. Their {@code modelId} is the factory's model
 * name, which Converse and InvokeModel take as it is.
 */
public final class FoundationModelsResource implements Routes {
    private final Deployments deployments;
    private final ModelRegistry registry;

    private final Access access;

    public FoundationModelsResource(Deployments deployments, ModelRegistry registry, Access access) {
        this.access = requireNonNull(access, "access is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/foundation-models", Action.READ_MODEL, Contract.of(
                "ListFoundationModels: the models with a ready deployment", null, ModelSummaries.class), this::list);
        routes.get("/foundation-models/{modelIdentifier}", Action.READ_MODEL, Contract.of(
                "GetFoundationModel", null, ModelDetails.class), this::get);
    }

    /**
     * ListFoundationModels, with its filters: {@code byProvider} (the namespace, any case), {@code byOutputModality}
     * ({@code TEXT}, {@code IMAGE}, {@code EMBEDDING}), {@code byInferenceType} ({@code ON_DEMAND},
     * {@code PROVISIONED}) and {@code byCustomizationType} ({@code FINE_TUNING}, {@code CONTINUED_PRE_TRAINING},
     * {@code DISTILLATION}); a value outside those is a ValidationException, as AWS answers.
     */
    private void list(Context ctx) {
        String provider = ctx.queryParam("byProvider");
        String modality = filter(ctx, "byOutputModality", List.of("TEXT", "IMAGE", "EMBEDDING"));
        String inference = filter(ctx, "byInferenceType", List.of("ON_DEMAND", "PROVISIONED"));
        String customization = filter(ctx, "byCustomizationType",
                List.of("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"));
        ctx.json(new ModelSummaries(foundationModels().stream()
                .filter(d -> access.allowsModel(ctx, Action.READ_MODEL, d.model())).map(this::summary)
                .filter(m -> provider == null || m.providerName().equalsIgnoreCase(provider))
                .filter(m -> modality == null || m.outputModalities().contains(modality))
                .filter(m -> inference == null || m.inferenceTypesSupported().contains(inference))
                .filter(m -> customization == null || m.customizationsSupported().contains(customization))
                .toList()));
    }

    /** A filter's value, one of {@code allowed}, or null when absent. */
    private static @Nullable String filter(Context ctx, String name, List<String> allowed) {
        String value = ctx.queryParam(name);
        if (value != null && !allowed.contains(value)) {
            throw FactoryException.invalidParam(name, "'" + name + "' must be one of " + String.join(", ", allowed)
                    + ", not '" + value + "'");
        }
        return value;
    }

    private void get(Context ctx) {
        String id = BedrockArns.resourceId(ctx.pathParam("modelIdentifier"), "foundation-model");
        Supplier<FactoryException> absent = () -> new FactoryException(ErrorCode.NOT_FOUND, "no foundation model '"
                + id + "'; ListFoundationModels shows the models deployed and ready");
        Deployment d = foundationModels().stream().filter(x -> x.model().toString().equals(id)).findFirst()
                .orElseThrow(absent);
        access.model(ctx, Action.READ_MODEL, d.model(), absent);
        ctx.json(new ModelDetails(summary(d)));
    }

    private List<Deployment> foundationModels() {
        return deployments.ready().stream()
                .filter(d -> !d.model().namespace().equals(ModelImports.NAMESPACE)
                        && !d.model().namespace().equals(ModelCustomizations.NAMESPACE))
                .toList();
    }

    private Summary summary(Deployment d) {
        ModelFormat format = registry.resolve(new ModelRef(d.model(), OptionalInt.of(d.version()))).format();
        boolean embedding = switch (format) {
            case ONNX -> true;
            case GGUF -> false;
        };
        String id = d.model().toString();
        return new Summary(BedrockArns.of("foundation-model", id), id, d.model().model(), d.model().namespace(),
                List.of("TEXT"), List.of(embedding ? "EMBEDDING" : "TEXT"), !embedding, List.of(),
                List.of("ON_DEMAND"), new FoundationModels.Lifecycle("ACTIVE"));
    }
}
