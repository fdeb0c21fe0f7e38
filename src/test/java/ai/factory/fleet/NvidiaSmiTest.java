package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NvidiaSmiTest {
    private static final long MIB = 1L << 20;

    @Test
    void singleGpuQueryGivesEveryFieldWithMemoryInBytes() {
        assertThat(NvidiaSmi.parseQuery(Fixtures.read("nvidia/query-single-rtx4090.csv"))).containsExactly(
                new NvidiaGpu(0, "GPU-5f8c1b62-3e2a-4d7b-9a51-0c2e7d4b8f13", "NVIDIA GeForce RTX 4090", 24564 * MIB,
                        1137 * MIB, "8.9", "550.54.15", List.of(), Optional.empty()));
    }

    @Test
    void eightH100QueryListsEightGpusInIndexOrder() {
        List<NvidiaGpu> gpus = NvidiaSmi.parseQuery(Fixtures.read("nvidia/query-8x-h100-sxm.csv"));
        assertThat(gpus).hasSize(8);
        assertThat(gpus).extracting(NvidiaGpu::index).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(gpus).extracting(NvidiaGpu::name).containsOnly("NVIDIA H100 80GB HBM3");
        assertThat(gpus).extracting(NvidiaGpu::memoryTotalBytes).containsOnly(81559 * MIB);
        assertThat(gpus).extracting(NvidiaGpu::computeCapability).containsOnly("9.0");
        assertThat(gpus.get(7).memoryUsed()).isEqualTo(71234 * MIB);
        assertThat(gpus.get(7).uuid()).isEqualTo("GPU-a1b2c3d7-1b2c-4d5e-8f70-001234567897");
    }

    @Test
    void notApplicableFieldsBecomeZeroOrUnknown() {
        NvidiaGpu gpu = NvidiaSmi.parseQuery(Fixtures.read("nvidia/query-missing-fields.csv")).getFirst();
        assertThat(gpu.memoryTotalBytes()).isEqualTo(40960 * MIB);
        assertThat(gpu.memoryUsed()).isZero();
        assertThat(gpu.computeCapability()).isEqualTo("unknown");
        assertThat(gpu.driverVersion()).isEqualTo("535.161.08");
    }

    @ParameterizedTest
    @ValueSource(strings = {"nvidia/query-truncated.csv", "nvidia/query-garbage.csv"})
    void truncatedOrGarbageQueryIsAClearError(String fixture) {
        assertThatThrownBy(() -> NvidiaSmi.parseQuery(Fixtures.read(fixture)))
                .isInstanceOf(FactoryException.class)
                .hasMessageStartingWith("nvidia-smi output is not as expected: line ")
                .hasMessageContaining("expected 7");
    }

    @Test
    void migReportListsTheInstancesOfAnA100() {
        Map<String, NvidiaSmi.Details> report = NvidiaSmi.parseReport(Fixtures.read("nvidia/report-mig-a100.xml"));
        assertThat(report).containsOnlyKeys("GPU-0d3c9a7e-6b1f-4e2a-b5c4-7f8e9a0b1c2d");
        NvidiaSmi.Details d = report.get("GPU-0d3c9a7e-6b1f-4e2a-b5c4-7f8e9a0b1c2d");
        assertThat(d.mig()).containsExactly(
                new MigInstance(0, 1, 0, 42, 19968 * MIB, 37 * MIB),
                new MigInstance(1, 5, 0, 14, 4864 * MIB, 13 * MIB),
                new MigInstance(2, 6, 0, 14, 4864 * MIB, 2048 * MIB));
        assertThat(d.nvlinkDomain()).isEmpty();
    }

    @Test
    void reportGivesTheNvlinkDomainOfGpusWhoseFabricIsRegistered() {
        Map<String, NvidiaSmi.Details> report = NvidiaSmi.parseReport(Fixtures.read("nvidia/report-8x-h100-sxm.xml"));
        assertThat(report).hasSize(8);
        List<NvidiaGpu> gpus = NvidiaSmi.merge(NvidiaSmi.parseQuery(Fixtures.read("nvidia/query-8x-h100-sxm.csv")), report);
        assertThat(gpus).extracting(NvidiaGpu::nvlinkDomain).containsExactly(
                Optional.of("4b3e7f2a-91c5-4d8e-a6b0-2f1c9d8e7a65/32766"),
                Optional.of("4b3e7f2a-91c5-4d8e-a6b0-2f1c9d8e7a65/32766"),
                Optional.of("4b3e7f2a-91c5-4d8e-a6b0-2f1c9d8e7a65/32766"),
                Optional.of("4b3e7f2a-91c5-4d8e-a6b0-2f1c9d8e7a65/32766"),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(gpus).allSatisfy(g -> assertThat(g.mig()).isEmpty());
    }

    @Test
    void mergeAddsMigInstancesToTheQueriedGpu() {
        List<NvidiaGpu> gpus = NvidiaSmi.merge(NvidiaSmi.parseQuery(Fixtures.read("nvidia/query-missing-fields.csv")),
                NvidiaSmi.parseReport(Fixtures.read("nvidia/report-mig-a100.xml")));
        assertThat(gpus.getFirst().mig()).hasSize(3);
    }

    @Test
    void truncatedOrForeignXmlIsAClearError() {
        assertThatThrownBy(() -> NvidiaSmi.parseReport(Fixtures.read("nvidia/report-truncated.xml")))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not well-formed XML");
        assertThatThrownBy(() -> NvidiaSmi.parseReport("<html><body>hi</body></html>"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not <nvidia_smi_log>");
    }

    @Test
    void reportNeverFetchesExternalEntities() {
        String xxe = """
                <?xml version="1.0"?>
                <!DOCTYPE nvidia_smi_log [<!ENTITY x SYSTEM "file:///etc/passwd">]>
                <nvidia_smi_log><gpu><uuid>&x;</uuid></gpu></nvidia_smi_log>
                """;
        assertThatThrownBy(() -> NvidiaSmi.parseReport(xxe)).isInstanceOf(FactoryException.class);
    }
}
