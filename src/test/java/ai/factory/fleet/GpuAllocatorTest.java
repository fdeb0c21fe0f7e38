package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The node's GPU allocator over what discovery found, with recorded nvidia-smi outputs (8 H100 SXM). */
class GpuAllocatorTest {
    private static final long MIB = 1L << 20;

    private static List<Accelerator> eightH100() {
        FixtureCommandRunner tools = new FixtureCommandRunner()
                .answer(NvidiaSmi.QUERY, "nvidia/query-8x-h100-sxm.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-8x-h100-sxm.xml");
        return new Discovery("gpu-node", tools, path -> Optional.empty(), Clock.systemUTC(), Duration.ZERO)
                .inventory().accelerators();
    }

    @Test
    void replicasGetDistinctWholeGpusAndTheNinthIsRefusedWithTheNumbers() {
        GpuAllocator gpus = new GpuAllocator(eightH100());
        assertThat(gpus.kind()).isEqualTo("nvidia");
        // GPU 7 is mostly held by another process and left out; GPU 3 has 512 MiB in use, and every GPU counts
        // as the smallest free one.
        assertThat(gpus.busy()).extracting(GpuAllocator.Gpu::index).containsExactly(7);
        assertThat(gpus.gpus()).hasSize(7);
        assertThat(gpus.capacityPerGpu()).isEqualTo((81559 - 512) * MIB);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int r = 0; r < 7; r++) {
            GpuAllocator.Result result = gpus.allocate("dep#" + r, 1, 40_000 * MIB);
            assertThat(result).isInstanceOfSatisfying(GpuAllocator.Result.Granted.class,
                    g -> assertThat(seen.addAll(g.allocation().gpus())).isTrue());
        }
        assertThat(seen).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6);
        assertThat(gpus.freeGpus()).isZero();
        // Half of a GPU is still free, but a GPU is never shared: no oversubscription.
        assertThat(gpus.allocate("dep#8", 1, 1_000 * MIB)).isInstanceOfSatisfying(GpuAllocator.Result.Refused.class,
                r -> assertThat(r.reason()).contains("1 nvidia GPU(s) with 1000.0 MiB each asked for", "0 of 7 free",
                        "81047.0 MiB each", "dep#0"));
        assertThat(gpus.release("dep#3")).isTrue();
        assertThat(gpus.release("dep#3")).isFalse();
        assertThat(gpus.allocate("dep#8", 1, 1_000 * MIB)).isInstanceOf(GpuAllocator.Result.Granted.class);
    }

    @Test
    void moreMemoryPerGpuThanAGpuHasIsRefused() {
        GpuAllocator gpus = new GpuAllocator(eightH100());
        assertThat(gpus.allocate("big", 2, 90_000 * MIB)).isInstanceOfSatisfying(GpuAllocator.Result.Refused.class,
                r -> assertThat(r.reason()).contains("90000.0 MiB each asked for", "7 of 7 free"));
        assertThat(gpus.allocations()).isEmpty();
        assertThat(gpus.freeGpus()).isEqualTo(7);
    }

    @Test
    void gpusAreOrderedByNvlinkDomainSoAMultiGpuReplicaStaysInOne() {
        GpuAllocator gpus = new GpuAllocator(eightH100());
        // GPUs 0-3 share a registered NVLink fabric; 4-6 report none and form the other group (7 is busy).
        assertThat(gpus.gpus()).extracting(GpuAllocator.Gpu::index).containsExactly(4, 5, 6, 0, 1, 2, 3);
        GpuAllocator.Result first = gpus.allocate("a", 4, 10_000 * MIB);
        GpuAllocator.Result second = gpus.allocate("b", 3, 10_000 * MIB);
        assertThat(((GpuAllocator.Result.Granted) first).allocation().gpus()).containsExactly(0, 1, 2, 3);
        assertThat(((GpuAllocator.Result.Granted) second).allocation().gpus()).containsExactly(4, 5, 6);
        assertThat(gpus.allocations()).extracting(GpuAllocator.Allocation::owner).containsExactly("a", "b");
    }

    @Test
    void neuronDevicesAreNotGpusAndANodeWithoutGpusRefuses() {
        NeuronDevice trainium = new NeuronDevice(0, "neuron", 8, 96L << 30, "15:00.0", List.of(1), 0);
        GpuAllocator none = new GpuAllocator(List.of(trainium));
        assertThat(none.kind()).isEqualTo("none");
        assertThat(none.freeGpus()).isZero();
        assertThat(none.allocate("x", 1, MIB)).isInstanceOfSatisfying(GpuAllocator.Result.Refused.class,
                r -> assertThat(r.reason()).isEqualTo("this node has no GPU"));
        AmdGpu mi300 = new AmdGpu(0, "AMD Instinct MI300X", 196592L << 20, OptionalLong.empty(), "gfx942", 304,
                "0000:05:00.0", "6.10.5");
        GpuAllocator amd = new GpuAllocator(List.of(trainium, mi300));
        assertThat(amd.kind()).isEqualTo("amd");
        assertThat(amd.allocate("x", 1, MIB)).isInstanceOf(GpuAllocator.Result.Granted.class);
    }
}
