package ai.factory.fleet.capacity;

import java.util.List;

/** Where one replica fits on one node, with the numbers; a closed set, handled with an exhaustive switch. */
public sealed interface CapacityPlan {
    Footprint footprint();

    /** All in host memory: no accelerator, or none needed. */
    record HostMemory(Footprint footprint, long hostBytes, long hostFree) implements CapacityPlan {}

    /** Every layer on {@code deviceBytes.size()} accelerators, layers split in order; only token_embd stays on the host. */
    record FullOffload(Footprint footprint, String kind, List<Long> deviceBytes, List<Integer> layersPerDevice,
                       long deviceFree, long hostBytes) implements CapacityPlan {
        public FullOffload {
            deviceBytes = List.copyOf(deviceBytes);
            layersPerDevice = List.copyOf(layersPerDevice);
        }

        public int devices() {
            return deviceBytes.size();
        }
    }

    /** The last {@code gpuLayers} layers on accelerators ({@code n_gpu_layers}), the rest on the host. */
    record PartialOffload(Footprint footprint, String kind, int gpuLayers, List<Long> deviceBytes, long deviceFree,
                          long hostBytes, long hostFree) implements CapacityPlan {
        public PartialOffload {
            deviceBytes = List.copyOf(deviceBytes);
        }
    }

    /** Fits nowhere; {@code reason} says by how much and what to change. */
    record DoesNotFit(Footprint footprint, long needBytes, long hostFree, String reason) implements CapacityPlan {}
}
