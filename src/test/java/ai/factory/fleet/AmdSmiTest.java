package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class AmdSmiTest {
    private static final long MI300X_VRAM = 196592L << 20;

    @Test
    void mi300xNodeListsEightGpusWith192GiB() {
        List<AmdGpu> gpus = AmdSmi.parse(Fixtures.read("amd/mi300x-static.json"));
        assertThat(gpus).hasSize(8);
        assertThat(gpus.getFirst()).isEqualTo(
                new AmdGpu(0, "AMD Instinct MI300X", MI300X_VRAM, OptionalLong.empty(), "gfx942", 304, "0000:05:00.0", "6.10.5"));
        assertThat(gpus.get(7).pciAddress()).isEqualTo("0000:e5:00.0");
        assertThat(gpus).extracting(AmdGpu::memoryTotalBytes).containsOnly(MI300X_VRAM);
    }

    @Test
    void olderOutputWithABareArrayAndTextSizesReadsTheSame() {
        assertThat(AmdSmi.parse(Fixtures.read("amd/mi300x-static-legacy.json"))).containsExactly(
                new AmdGpu(0, "AMD Instinct MI300X", MI300X_VRAM, OptionalLong.empty(), "gfx942", 304, "0000:05:00.0", "6.10.5"));
    }

    @Test
    void missingFieldsFallBackToUnknown() {
        assertThat(AmdSmi.parse("[{\"gpu\": 3, \"asic\": {\"market_name\": \"N/A\"}, \"vram\": {\"size\": \"N/A\"}}]"))
                .containsExactly(new AmdGpu(3, "AMD GPU", 0, OptionalLong.empty(), "unknown", 0, "", "unknown"));
    }

    @Test
    void truncatedOrGarbageIsAClearError() {
        assertThatThrownBy(() -> AmdSmi.parse(Fixtures.read("amd/truncated.json")))
                .isInstanceOf(FactoryException.class).hasMessageStartingWith("amd-smi output is not as expected: not valid JSON");
        assertThatThrownBy(() -> AmdSmi.parse("[{\"asic\": {}}]"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("no 'gpu' index");
        assertThatThrownBy(() -> AmdSmi.parse("[{\"gpu\": 0, \"vram\": {\"size\": \"lots\"}}]"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not a size");
    }
}
