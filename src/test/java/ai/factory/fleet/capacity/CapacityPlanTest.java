package ai.factory.fleet.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class CapacityPlanTest {
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    /** 80 layers of 1.6 GiB and 10 MiB of KV each: a 70B model at 8 bits, roughly. */
    private static Footprint seventyB() {
        return new Footprint(Collections.nCopies(80, 1600 * MIB), 1 * GIB, 1 * GIB, 10 * MIB, 500 * MIB, 8192, CacheType.F16);
    }

    @Test
    void kvCacheBytesFollowTheCacheType() {
        assertThat(CacheType.F16.bytes(32)).isEqualTo(64);
        assertThat(CacheType.Q8_0.bytes(32)).isEqualTo(34);
        assertThat(CacheType.Q4_0.bytes(64)).isEqualTo(36);
        assertThat(CacheType.parse("Q8_0")).isEqualTo(CacheType.Q8_0);
        assertThatThrownBy(() -> CacheType.parse("q2")).hasMessageContaining("unknown cache type 'q2'");
    }

    @Test
    void acceleratorSpecsParseMemoryAndCount() {
        assertThat(AcceleratorSpec.parse("nvidia:80GiB×8")).isEqualTo(new AcceleratorSpec("nvidia", 80 * GIB, 8));
        assertThat(AcceleratorSpec.parse("NVIDIA:24GB")).isEqualTo(new AcceleratorSpec("nvidia", 24_000_000_000L, 1));
        assertThat(AcceleratorSpec.parse("neuron:96GiBx16").count()).isEqualTo(16);
        assertThatThrownBy(() -> AcceleratorSpec.parse("nvidia80")).hasMessageContaining("bad accelerator spec 'nvidia80'");
        assertThatThrownBy(() -> AcceleratorSpec.parse("nvidia:80GiB×0")).hasMessageContaining("at least 1");
    }

    @Test
    void fitsInHostMemoryWithoutAccelerators() {
        CapacityPlan plan = CapacityEstimator.plan(seventyB(), 256 * GIB, List.of());
        assertThat(plan).isInstanceOf(CapacityPlan.HostMemory.class);
        assertThat(((CapacityPlan.HostMemory) plan).hostBytes()).isEqualTo(seventyB().total());
    }

    @Test
    void fullOffloadTakesTheFewestAcceleratorsThatHoldEveryLayer() {
        CapacityPlan plan = CapacityEstimator.plan(seventyB(), 64 * GIB, List.of(AcceleratorSpec.parse("nvidia:80GiB×8")));
        assertThat(plan).isInstanceOfSatisfying(CapacityPlan.FullOffload.class, full -> {
            assertThat(full.devices()).isEqualTo(2);
            assertThat(full.layersPerDevice().stream().mapToInt(Integer::intValue).sum()).isEqualTo(80);
            assertThat(full.deviceBytes()).allSatisfy(b -> assertThat(b).isLessThanOrEqualTo(80 * GIB));
            assertThat(full.hostBytes()).isEqualTo(1 * GIB);
        });
    }

    @Test
    void partialOffloadPutsTheLastLayersOnTheAccelerator() {
        CapacityPlan plan = CapacityEstimator.plan(seventyB(), 128 * GIB, List.of(AcceleratorSpec.parse("nvidia:24GiB")));
        assertThat(plan).isInstanceOfSatisfying(CapacityPlan.PartialOffload.class, partial -> {
            assertThat(partial.gpuLayers()).isBetween(10, 15);
            assertThat(partial.deviceBytes().getFirst()).isLessThanOrEqualTo(24 * GIB);
        });
    }

    @Test
    void refusesWithTheNumbersWhenNothingHoldsIt() {
        CapacityPlan plan = CapacityEstimator.plan(seventyB(), 16 * GIB, List.of());
        assertThat(plan).isInstanceOfSatisfying(CapacityPlan.DoesNotFit.class, refused ->
                assertThat(refused.reason()).contains("does not fit", "KV cache", "MiB", "free", "8192 tokens"));
    }

    @Test
    void layerWeightsComeFromTheBlockTensors() {
        assertThat(CapacityEstimator.layerOf("blk.12.attn_q.weight")).isEqualTo(12);
        assertThat(CapacityEstimator.layerOf("output_norm.weight")).isEqualTo(-1);
        assertThat(CapacityEstimator.layerOf("blk.x.ffn")).isEqualTo(-1);
    }
}
