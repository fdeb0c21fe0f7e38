package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class RocmSmiTest {
    @Test
    void mi300xCardsGiveTotalAndUsedVramAndSkipTheSystemEntry() {
        assertThat(RocmSmi.parse(Fixtures.read("amd/rocm-smi-mi300x.json"))).containsExactly(
                new AmdGpu(0, "AMD Instinct MI300X OAM", 206141652992L, OptionalLong.of(299892736L), "gfx942", 0, "",
                        "unknown"),
                new AmdGpu(1, "AMD Instinct MI300X OAM", 206141652992L, OptionalLong.of(191234867200L), "gfx942", 0, "",
                        "unknown"));
    }

    @Test
    void keyCaseOfOlderReleasesIsAccepted() {
        assertThat(RocmSmi.parse(Fixtures.read("amd/rocm-smi-radeon-lowercase.json"))).containsExactly(
                new AmdGpu(0, "Radeon RX 7900 XT", 21458059264L, OptionalLong.of(27856896L), "gfx1100", 0, "", "unknown"));
    }

    @Test
    void garbageIsAClearError() {
        assertThatThrownBy(() -> RocmSmi.parse("WARNING: No JSON data to report"))
                .isInstanceOf(FactoryException.class).hasMessageStartingWith("rocm-smi output is not as expected");
        assertThatThrownBy(() -> RocmSmi.parse("{\"card0\": {\"VRAM Total Memory (B)\": \"lots\"}}"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not a size");
    }
}
