package ai.factory.serving;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.onnx.BundledMiniLm;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelRegistry.Upload;
import ai.factory.identity.Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The models that ship inside the factory: registered like any imported model (so they have digests,
 * versions and provenance) and deployed at first start.
 */
public final class BuiltinModels {
    public static final ModelName EMBEDDING = ModelName.parse("builtin/all-minilm-l6-v2");

    private static final Logger LOG = LoggerFactory.getLogger(BuiltinModels.class);

    private final ModelRegistry registry;
    private final Deployments deployments;
    private final Principal system;

    public BuiltinModels(ModelRegistry registry, Deployments deployments, Principal system) {
        this.registry = requireNonNull(registry, "registry is null");
        this.deployments = requireNonNull(deployments, "deployments is null");
        this.system = requireNonNull(system, "system is null");
    }

    /** Registers the bundled embedding model if the registry lacks it, and deploys it if nothing serves it. */
    public void ensureEmbeddingModel() {
        if (registry.find(EMBEDDING).isEmpty()) {
            try (InputStream model = BundledMiniLm.modelStream(); InputStream tokenizer = BundledMiniLm.tokenizerStream()) {
                var v = registry.importFiles(EMBEDDING, Optional.of(ModelFormat.ONNX), List.of(
                                new Upload(BundledMiniLm.NAME_MODEL_FILE, model, null),
                                new Upload(BundledMiniLm.NAME_TOKENIZER_FILE, tokenizer, null)),
                        Map.of("task", "embedding", "dimensions", 384,
                                "maxInputTokens", ai.factory.engine.onnx.OnnxEmbeddingOptions.DEFAULT_MAX_INPUT_TOKENS,
                                "origin", "sentence-transformers/all-MiniLM-L6-v2, quantized"),
                        system, ModelRegistry.BUNDLED_SOURCE + "all-minilm-l6-v2-q");
                LOG.info("registered the bundled embedding model as {}", v.ref());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the bundled embedding model", e);
            }
        }
        Deployment d = deployments.find(EMBEDDING).orElseGet(() ->
                deployments.deploy(new ModelRef(EMBEDDING, OptionalInt.empty()), DeploymentSpec.DEFAULT, system));
        try {
            // The bundled model loads in about a second; the factory is not useful before it can embed.
            deployments.awaitSettled(d.id(), Duration.ofMinutes(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
