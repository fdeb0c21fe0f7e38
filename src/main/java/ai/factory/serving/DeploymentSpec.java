package ai.factory.serving;

import ai.factory.FactoryException;
import ai.factory.engine.llama.KvCacheType;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.models.ModelVersion;
import java.util.Objects;

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
 * @param stepTokens the most tokens a GGUF model's replica decodes in one step while sequences generate:
 *     {@link #STEP_TOKENS_AUTO} sizes prompt chunks so that a step with prompt tokens takes about four times a step
 *     without, N fixes the step's tokens (up to {@link #MAX_STEP_TOKENS}, the engine's batch)
 * @param cacheType the element type of a GGUF model's KV cache; {@code q8_0} and {@code q4_0} take about a half and a
 *     quarter of {@code f16}'s memory, which placement and the memory check count
 * @param prefixCache sequences beyond {@code parallel} in a GGUF model's replica that keep what a slot held when a
 *     new request takes the slot, so a conversation's next turn finds its beginning after its slot served others;
 *     each takes a slot's KV memory, which placement and the memory check count (see {@link #sequences()})
 * @param priority from {@link #MIN_PRIORITY} to {@link #MAX_PRIORITY}, 0 by default: where no worker of a cluster has
 *     room for a replica, it may end replicas of deployments with a lower priority (they are placed again where there
 *     is room, or wait for it); one machine without workers never ends a replica for another
 */
public record DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue, int gpuLayers,
                             int stepTokens, KvCacheType cacheType, int prefixCache, int priority) {
    public static final int DEFAULT_CONTEXT_CAP = 4096;
    public static final int DEFAULT_QUEUE = 64;
    public static final int GPU_LAYERS_AUTO = -1;
    public static final int STEP_TOKENS_AUTO = LlamaEngineOptions.AUTO_STEP_TOKENS;
    /** A step decodes at most the engine's batch. */
    public static final int MAX_STEP_TOKENS = LlamaEngineOptions.DEFAULT_BATCH_SIZE;
    /** The engine's most prefix-cache sequences. */
    public static final int MAX_PREFIX_CACHE = 256;
    public static final int MIN_PRIORITY = -1000;
    public static final int MAX_PRIORITY = 1000;
    public static final DeploymentSpec DEFAULT = new DeploymentSpec(1, 1, 0, 0, DEFAULT_QUEUE);

    /** This spec with {@code n} replicas (checked as any spec). */
    public DeploymentSpec withReplicas(int n) {
        return new DeploymentSpec(n, parallel, contextLength, threads, queue, gpuLayers, stepTokens, cacheType,
                prefixCache, priority);
    }

    public DeploymentSpec {
        Objects.requireNonNull(cacheType, "cacheType is null");
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
        if (stepTokens < STEP_TOKENS_AUTO || stepTokens > MAX_STEP_TOKENS) {
            throw FactoryException.invalidParam("stepTokens", "'stepTokens' must be \"auto\" or between 1 and "
                    + MAX_STEP_TOKENS + " tokens a step, not " + stepTokens);
        }
        if (prefixCache < 0 || prefixCache > MAX_PREFIX_CACHE) {
            throw FactoryException.invalidParam("prefixCache", "'prefixCache' must be between 0 and "
                    + MAX_PREFIX_CACHE + " sequences, not " + prefixCache);
        }
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw FactoryException.invalidParam("priority", "'priority' must be between " + MIN_PRIORITY + " and "
                    + MAX_PRIORITY + " (higher goes first), not " + priority);
        }
    }

    /**
     * A spec whose GPU layers the capacity plan chooses, with automatic step tokens, an f16 KV cache and no prefix
     * cache.
     */
    public DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue) {
        this(replicas, parallel, contextLength, threads, queue, GPU_LAYERS_AUTO);
    }

    /** A spec with automatic step tokens, an f16 KV cache and no prefix cache. */
    public DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue, int gpuLayers) {
        this(replicas, parallel, contextLength, threads, queue, gpuLayers, STEP_TOKENS_AUTO, KvCacheType.F16);
    }

    /** A spec without a prefix cache. */
    public DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue, int gpuLayers,
                          int stepTokens, KvCacheType cacheType) {
        this(replicas, parallel, contextLength, threads, queue, gpuLayers, stepTokens, cacheType, 0);
    }

    /** A spec of the default priority, 0. */
    public DeploymentSpec(int replicas, int parallel, int contextLength, int threads, int queue, int gpuLayers,
                          int stepTokens, KvCacheType cacheType, int prefixCache) {
        this(replicas, parallel, contextLength, threads, queue, gpuLayers, stepTokens, cacheType, prefixCache, 0);
    }

    /**
     * The sequences a replica's KV cache holds, each of {@link #effectiveContext(long)} cells: the slots and the prefix
     * cache's.
     */
    public int sequences() {
        return parallel + prefixCache;
    }

    /** The capacity plan's name for {@link #cacheType}: what a replica's KV cache weighs in placement and checks. */
    public CacheType plannedCacheType() {
        return switch (cacheType) {
            case F16 -> CacheType.F16;
            case Q8_0 -> CacheType.Q8_0;
            case Q4_0 -> CacheType.Q4_0;
        };
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
