package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.codec.WireJson;
import ai.factory.engine.llama.KvCacheType;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;

/** {@code /api/v1/deployments}: deploying a model version, and the deployments with their state and load. */
public final class DeploymentWire {
    /** {@link CreateDeployment#gpuLayers()}'s value for "the capacity plan decides". */
    public static final int GPU_LAYERS_AUTO = -1;
    /** {@link CreateDeployment#stepTokenCount()}'s value for "the engine sizes prompt chunks from step times". */
    public static final int STEP_TOKENS_AUTO = 0;

    private DeploymentWire() {}

    /**
     * {@code POST /api/v1/deployments}; absent numbers take the server's defaults.
     *
     * @param model {@code ns/model[:version]}
     * @param gpuLayers {@code "auto"} or a whole number of layers, so neither a string nor a number alone (read
     *     through {@link #gpuLayerCount()})
     * @param stepTokens {@code "auto"} or a whole number of tokens a step (read through {@link #stepTokenCount()})
     * @param cacheType the KV cache's element type: {@code f16}, {@code q8_0} or {@code q4_0}
     * @param prefixCache sequences beyond {@code parallel} that keep evicted slots' prompts; none when absent
     * @param priority from -1000 to 1000, 0 when absent: on a cluster whose workers are full, a replica may end
     *     replicas of deployments with a lower priority
     */
    @JsonInclude(JsonInclude.Include.NON_NULL) // what the command line leaves out, it does not send as null
    public record CreateDeployment(String model, Integer replicas, Integer parallel, Integer context, Integer threads,
                                   Integer queue, JsonNode gpuLayers, @Nullable JsonNode stepTokens,
                                   @Nullable String cacheType, @Nullable Integer prefixCache,
                                   @Nullable Integer priority) {
        public CreateDeployment {
            Required.field(model, "model");
            gpuLayerCount(gpuLayers);
            stepTokenCount(stepTokens);
            kvCacheType(cacheType);
        }

        /** The tokens a step may take: {@link #STEP_TOKENS_AUTO} when absent, null or {@code "auto"}. */
        public int stepTokenCount() {
            return stepTokenCount(stepTokens);
        }

        /** The KV cache's element type, f16 when absent. */
        public KvCacheType kvCacheType() {
            return kvCacheType(cacheType);
        }

        private static int stepTokenCount(@Nullable JsonNode v) {
            if (v == null || v.isNull() || v.isMissingNode()) {
                return STEP_TOKENS_AUTO;
            }
            if (v.isTextual()) {
                if (v.asText().equals("auto")) {
                    return STEP_TOKENS_AUTO;
                }
                throw FactoryException.invalidParam("stepTokens",
                        "'stepTokens' must be \"auto\" or a whole number of tokens, not '" + v.asText() + "'");
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw FactoryException.invalidParam("stepTokens", "'stepTokens' must be an integer, not "
                        + WireJson.kind(v));
            }
            // The range is the deployment's to check, with the engine's batch in its message.
            return v.intValue();
        }

        private static KvCacheType kvCacheType(@Nullable String id) {
            if (id == null) {
                return KvCacheType.F16;
            }
            try {
                return KvCacheType.parse(id);
            } catch (IllegalArgumentException e) {
                throw FactoryException.invalidParam("cacheType",
                        "'cacheType' must be f16, q8_0 or q4_0, not '" + id + "'");
            }
        }

        /** The layers asked for on GPUs: {@link #GPU_LAYERS_AUTO} when absent, null or {@code "auto"}. */
        public int gpuLayerCount() {
            return gpuLayerCount(gpuLayers);
        }

        private static int gpuLayerCount(JsonNode v) {
            if (v == null || v.isNull() || v.isMissingNode()) {
                return GPU_LAYERS_AUTO;
            }
            if (v.isTextual()) {
                if (v.asText().equals("auto")) {
                    return GPU_LAYERS_AUTO;
                }
                throw FactoryException.invalidParam("gpuLayers",
                        "'gpuLayers' must be \"auto\" or a whole number of layers, not '" + v.asText() + "'");
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw FactoryException.invalidParam("gpuLayers", "'gpuLayers' must be an integer, not "
                        + WireJson.kind(v));
            }
            int layers = v.intValue();
            if (layers < 0) {
                throw FactoryException.invalidParam("gpuLayers",
                        "'gpuLayers' must be \"auto\", 0 (CPU only) or a positive number of layers, not " + layers);
            }
            return layers;
        }
    }

    /**
     * Where one replica runs.
     *
     * @param device {@code gpu} or {@code cpu}
     * @param gpuLayers {@code "all"} or the number of layers on GPUs; for a replica on a worker, as the deployment
     *     asked ({@code "auto"} or N) where it holds GPUs, else 0
     * @param gpus the GPUs' indices on this machine; for a replica on a worker, none (see {@code gpuCount})
     * @param node the worker a replica runs on, on a control plane (absent elsewhere, and while it moves)
     * @param gpuCount the GPUs its worker reported the replica holds, on a control plane (absent where it did not say)
     */
    public record Placement(int replica, String device, Object gpuLayers, List<Integer> gpus,
                            List<Integer> layersPerGpu, long bytesPerGpu,
                            @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String node,
                            @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Integer gpuCount) {
        public Placement {
            requireNonNull(device, "device is null");
            gpus = List.copyOf(requireNonNull(gpus, "gpus is null"));
            layersPerGpu = List.copyOf(requireNonNull(layersPerGpu, "layersPerGpu is null"));
        }

        /** A replica on this machine. */
        public Placement(int replica, String device, Object gpuLayers, List<Integer> gpus, List<Integer> layersPerGpu,
                         long bytesPerGpu) {
            this(replica, device, gpuLayers, gpus, layersPerGpu, bytesPerGpu, null, null);
        }
    }

    /** {@code PATCH /api/v1/deployments/{id}}: scale a ready deployment to {@code replicas}. */
    public record ScaleDeployment(Integer replicas) {
        /** The fields this body may carry; any other is refused rather than ignored, so a typo is not lost. */
        public static final List<String> FIELDS = List.of("replicas");

        public ScaleDeployment {
            Required.field(replicas, "replicas");
        }
    }

    /**
     * A deployment with its settings, placements and live load.
     *
     * @param state {@code pending}, {@code loading}, {@code ready} or {@code failed} (then {@code reason} says why);
     *     {@code draining} while it is being deleted; a ready one whose replicas do not all serve has a reason that
     *     begins {@code degraded:} and says why each other one does not
     * @param gpuLayers {@code "auto"} or the number asked for
     * @param stepTokens {@code "auto"} or the tokens a step may take
     * @param cacheType {@code f16}, {@code q8_0} or {@code q4_0}
     * @param prefixCache sequences beyond {@code parallel} that keep evicted slots' prompts (0: none)
     * @param priority which deployments' replicas give way when a cluster's workers are full (the lower)
     * @param readyReplicas the replicas serving now (fewer than {@code replicas} while it loads or scales up, or while
     *     one is placed again after its worker went down)
     * @param generatedTokens the tokens its ready replicas generated since they were loaded: two readings a few
     *     seconds apart give its output in tokens per second
     */
    public record Deployment(String id, String project, String model, int version, String state,
                             @Nullable String reason, int replicas, int parallel, int context, int threads, int queue,
                             Object gpuLayers, Object stepTokens, String cacheType, int prefixCache, int priority,
                             List<Placement> placements, Instant createdAt, long activeRequests,
                             long waitingRequests, int readyReplicas, long generatedTokens) {
        public Deployment {
            requireNonNull(id, "id is null");
            requireNonNull(state, "state is null");
            requireNonNull(cacheType, "cacheType is null");
            placements = List.copyOf(requireNonNull(placements, "placements is null"));
        }
    }

    public record DeploymentList(List<Deployment> deployments) {
        public DeploymentList {
            deployments = List.copyOf(requireNonNull(deployments, "deployments is null"));
        }
    }
}
