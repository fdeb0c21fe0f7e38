package ai.factory.api.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.fleet.AmdGpu;
import ai.factory.fleet.MigInstance;
import ai.factory.fleet.NeuronDevice;
import ai.factory.fleet.NvidiaGpu;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** How each kind of accelerator reads in {@code GET /api/v1/fleet}. */
class FleetResourceTest {
    private static String json(Object value) throws Exception {
        return Json.mapper().writeValueAsString(value);
    }

    @Test
    void nvidiaGpuCarriesMigInstancesAndItsNvlinkDomain() throws Exception {
        NvidiaGpu gpu = new NvidiaGpu(0, "GPU-0d3c", "NVIDIA A100-SXM4-40GB", 40960L << 20, 2098L << 20, "8.0",
                "535.161.08", List.of(new MigInstance(0, 1, 0, 42, 19968L << 20, 37L << 20)), Optional.of("c0ffee/7"));
        assertThat(json(FleetResource.accelerator(gpu))).isEqualTo("""
                {"kind":"nvidia","index":0,"name":"NVIDIA A100-SXM4-40GB","memoryTotal":42949672960,\
                "memoryUsed":2199912448,"uuid":"GPU-0d3c","computeCapability":"8.0","driverVersion":"535.161.08",\
                "mig":[{"index":0,"gpuInstanceId":1,"computeInstanceId":0,"multiprocessors":42,\
                "memoryTotal":20937965568,"memoryUsed":38797312}],"nvlinkDomain":"c0ffee/7"}""");
    }

    @Test
    void neuronDeviceCarriesItsCoresAndRingNeighboursWithUnknownMemoryInUse() throws Exception {
        NeuronDevice device = new NeuronDevice(5, "neuron", 8, 96L << 30, "15:00.0", List.of(1, 6, 9, 4), 0);
        assertThat(json(FleetResource.accelerator(device))).isEqualTo("""
                {"kind":"neuron","index":5,"name":"neuron","memoryTotal":103079215104,"memoryUsed":null,\
                "neuronCores":8,"pciAddress":"15:00.0","connectedTo":[1,6,9,4],"processes":0}""");
    }

    @Test
    void amdGpuCarriesItsTargetAndComputeUnits() throws Exception {
        AmdGpu gpu = new AmdGpu(0, "AMD Instinct MI300X", 196592L << 20, OptionalLong.empty(), "gfx942", 304,
                "0000:05:00.0", "6.10.5");
        assertThat(json(FleetResource.accelerator(gpu))).isEqualTo("""
                {"kind":"amd","index":0,"name":"AMD Instinct MI300X","memoryTotal":206141652992,"memoryUsed":null,\
                "target":"gfx942","computeUnits":304,"pciAddress":"0000:05:00.0","driverVersion":"6.10.5"}""");
    }

    @Test
    void aGpuHeldByADeploymentTheCallerCannotReadSaysItIsHeldButNotByWhat() throws Exception {
        NeuronDevice device = new NeuronDevice(0, "neuron", 8, 96L << 30, "15:00.0", List.of(), 0);

        assertThat(json(FleetResource.held(device, "dep-mine/1", java.util.Set.of("dep-mine"))))
                .endsWith(",\"allocated\":true,\"allocatedTo\":\"dep-mine/1\"}");
        assertThat(json(FleetResource.held(device, "dep-theirs/0", java.util.Set.of("dep-mine"))))
                .endsWith(",\"allocated\":true,\"allocatedTo\":null}").doesNotContain("dep-theirs");
        assertThat(json(FleetResource.held(device, null, java.util.Set.of("dep-mine"))))
                .endsWith(",\"allocated\":false,\"allocatedTo\":null}");
    }
}
