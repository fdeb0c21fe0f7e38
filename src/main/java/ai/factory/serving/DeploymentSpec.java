package ai.factory.serving;

import ai.factory.FactoryException;
import ai.factory.models.ModelVersion;

/**
 * What a deployment asks for.
 *
 * @param replicas engine instances, each with its own copy of the weights
 * @param parallel sequences one replica generates at once (continuous batching slots)
 * @param contextLength tokens one sequence may hold, prompt and output together; 0 = the model's own
 *     training context, capped at {@link #DEFAULT_CONTEXT_CAP}
 * @param threads CPU threads per replica; 0 = the site's default ({@code generation.threads} or
 *     {@code embeddings.threads}, all cores unless set)
 * @param queue requests that may wait for a free slot per replica, at least 1; beyond it callers get 429
 * @param gpuLayers layers of a GGUF model on GPUs: {@link #GPU_LAYERS_AUTO} lets the capacity plan choose (all,
 *     some or none, as the node's free GPUs hold them), 0 keeps the model on the CPU, N puts the last N layers
 *     (all, when N is at least the model's layer count) on as few free GPUs as hold them, or refuses
 */
public record DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue, int gpuLayers) {
    public static final int DEFAULT_CONTEXT_CAP = 4096;
    public static final int DEFAULT_QUEUE = 64;
    public static final int GPU_LAYERS_AUTO = -1;
    public static final DeploymentSpec DEFAULT = new DeploymentSpec(1, 1, 0, 0, DEFAULT_QUEUE);

    public DeploymentSpec {
        if (replicas < 1 || replicas > 64) {
            throw FactoryException.invalidParam("replicas", "'replicas' must be between 1 and 64, not " + replicas);
        }
        if (parallel < 1 || parallel > 256) {
            throw FactoryException.invalidParam("parallel", "'parallel' must be between 1 and 256, not " + parallel);
        }
        if (contextLength < 0 || contextLength > 1 << 20) {
            throw FactoryException.invalidParam("context", "'context' must be between 1 and 1048576 tokens (0 = model default)");
        }
        if (queue < 1 || queue > 100_000) {
            throw FactoryException.invalidParam("queue", "'queue' must be between 1 and 100000 waiting requests");
        }
        if (threads < 0 || threads > 1024) {
            throw FactoryException.invalidParam("threads", "'threads' must be between 0 (the site's default) and 1024");
        }
        if (gpuLayers < GPU_LAYERS_AUTO || gpuLayers > 100_000) {
            throw FactoryException.invalidParam("gpuLayers",
                    "'gpuLayers' must be \"auto\", 0 (CPU only) or a layer count up to 100000, not " + gpuLayers);
        }
    }

    /** A spec whose GPU layers the capacity plan chooses. */
    public DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue) {
        this(replicas, parallel, contextLength, threads, queue, GPU_LAYERS_AUTO);
    }

    /** The context per sequence for this model version, from the training context its metadata records. */
    public int effectiveContext(ModelVersion version) {
        return effectiveContext(version.metadata().get("contextLength") instanceof Number n ? n.longValue() : 0);
    }

    /** The CPU threads of each replica: its own {@code threads}, or {@code siteDefault} when it names none. */
    public int threadsOr(int siteDefault) {
        return threads > 0 ? threads : siteDefault;
    }

    /** The context per sequence to use for a model trained on {@code modelContext} tokens. */
    public int effectiveContext(long modelContext) {
        if (contextLength > 0) {
            return contextLength;
        }
        return (int) Math.min(modelContext > 0 ? modelContext : DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP);
    }
}
