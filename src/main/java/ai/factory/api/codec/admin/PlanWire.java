package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.fleet.capacity.Footprint;
import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;
import java.util.List;

/**
 * {@code GET /api/v1/models/{ns}/{model}/plan}, and {@code factory models plan --json} for a local file: what one
 * replica needs and where it fits. Which fields are present depends on {@code fit}; the others are left out.
 */
public final class PlanWire {
    private PlanWire() {}

    /**
     * A capacity plan.
     *
     * @param model {@code ns/model:v} when the server planned a registered model; absent for a local file
     * @param fit {@code host} (hostBytes, hostFree), {@code accelerators} (kind, devices, layersPerDevice,
     *     deviceBytes, deviceFree, hostBytes), {@code partial} (kind, gpuLayers, deviceBytes, deviceFree, hostBytes,
     *     hostFree) or {@code none} (needBytes, hostFree, reason)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Plan(@Nullable String model, String fit, @Nullable String kind, @Nullable Integer devices,
                       @Nullable List<Integer> layersPerDevice,
                       @Nullable Integer gpuLayers, @Nullable Long needBytes, @Nullable List<Long> deviceBytes,
                               @Nullable Long deviceFree, @Nullable Long hostBytes,
                       @Nullable Long hostFree, @Nullable String reason, Need need) {
        public Plan {
            requireNonNull(fit, "fit is null");
            requireNonNull(need, "need is null");
        }

        /** {@code plan} as the API writes it, for {@code model} (null for a local file). */
        public static Plan of(@Nullable String model, CapacityPlan plan) {
            Need need = Need.of(plan.footprint());
            return switch (plan) {
                case CapacityPlan.HostMemory h -> new Plan(model, "host", null, null, null, null, null, null, null,
                        h.hostBytes(), h.hostFree(), null, need);
                case CapacityPlan.FullOffload g -> new Plan(model, "accelerators", g.kind(), g.devices(),
                        g.layersPerDevice(), null, null, g.deviceBytes(), g.deviceFree(), g.hostBytes(), null, null,
                        need);
                case CapacityPlan.PartialOffload p -> new Plan(model, "partial", p.kind(), null, null, p.gpuLayers(),
                        null, p.deviceBytes(), p.deviceFree(), p.hostBytes(), p.hostFree(), null, need);
                case CapacityPlan.DoesNotFit d -> new Plan(model, "none", null, null, null, null, d.needBytes(), null,
                        null, null, d.hostFree(), d.reason(), need);
            };
        }
    }

    /** What one replica needs, in bytes: weights per layer and in all, KV cache, compute buffer, total. */
    public record Need(int layers, List<Long> layerWeights, long hostWeights, long outputWeights, long weights,
                       long contextTokens, String cacheType, long kvCache, long compute, long total) {
        public Need {
            layerWeights = List.copyOf(requireNonNull(layerWeights, "layerWeights is null"));
            requireNonNull(cacheType, "cacheType is null");
        }

        static Need of(Footprint f) {
            return new Need(f.layers(), f.layerWeights(), f.hostWeights(), f.outputWeights(), f.weights(),
                    f.contextTokens(), f.cacheType().id(), f.kvCache(), f.compute(), f.total());
        }
    }
}
