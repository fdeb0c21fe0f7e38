package ai.factory.fleet.capacity;

import java.util.LinkedHashMap;
import java.util.Map;

/** A {@link CapacityPlan} as the ordered map both {@code GET …/plan} and {@code factory models plan --json} print. */
public final class CapacityPlans {
    private CapacityPlans() {}

    public static Map<String, Object> toMap(CapacityPlan plan) {
        Footprint f = plan.footprint();
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> need = new LinkedHashMap<>();
        need.put("layers", f.layers());
        need.put("layerWeights", f.layerWeights());
        need.put("hostWeights", f.hostWeights());
        need.put("outputWeights", f.outputWeights());
        need.put("weights", f.weights());
        need.put("contextTokens", f.contextTokens());
        need.put("cacheType", f.cacheType().id());
        need.put("kvCache", f.kvCache());
        need.put("compute", f.compute());
        need.put("total", f.total());
        switch (plan) {
            case CapacityPlan.HostMemory h -> {
                m.put("fit", "host");
                m.put("hostBytes", h.hostBytes());
                m.put("hostFree", h.hostFree());
            }
            case CapacityPlan.FullOffload g -> {
                m.put("fit", "accelerators");
                m.put("kind", g.kind());
                m.put("devices", g.devices());
                m.put("layersPerDevice", g.layersPerDevice());
                m.put("deviceBytes", g.deviceBytes());
                m.put("deviceFree", g.deviceFree());
                m.put("hostBytes", g.hostBytes());
            }
            case CapacityPlan.PartialOffload p -> {
                m.put("fit", "partial");
                m.put("kind", p.kind());
                m.put("gpuLayers", p.gpuLayers());
                m.put("deviceBytes", p.deviceBytes());
                m.put("deviceFree", p.deviceFree());
                m.put("hostBytes", p.hostBytes());
                m.put("hostFree", p.hostFree());
            }
            case CapacityPlan.DoesNotFit d -> {
                m.put("fit", "none");
                m.put("needBytes", d.needBytes());
                m.put("hostFree", d.hostFree());
                m.put("reason", d.reason());
            }
        }
        m.put("need", need);
        return m;
    }
}
