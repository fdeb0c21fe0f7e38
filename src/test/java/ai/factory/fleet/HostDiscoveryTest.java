package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code /proc/cpuinfo} and {@code /proc/meminfo}, and running real processes. */
class HostDiscoveryTest {
    @Test
    void dualSocketXeonCountsSocketsCoresThreadsAndAmx() {
        assertThat(ProcFiles.parseCpuInfo(Fixtures.read("proc/cpuinfo-2s-xeon-8480.txt"))).isEqualTo(new CpuInfo(
                "Intel(R) Xeon(R) Platinum 8480+", 2, 4, 8,
                List.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
                        "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")));
    }

    @Test
    void armWithoutModelNameOrCoreIdsCountsEachProcessorAsACore() {
        CpuInfo cpu = ProcFiles.parseCpuInfo(Fixtures.read("proc/cpuinfo-graviton3.txt"));
        assertThat(cpu.sockets()).isEqualTo(1);
        assertThat(cpu.cores()).isEqualTo(4);
        assertThat(cpu.threads()).isEqualTo(4);
        assertThat(cpu.model()).startsWith("unknown (");
        assertThat(cpu.isaFeatures()).containsExactly("asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve");
    }

    @Test
    void cpuinfoWithoutProcessorsIsAClearError() {
        assertThatThrownBy(() -> ProcFiles.parseCpuInfo("\u0000\u0001garbage"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("no 'processor' entries");
    }

    @Test
    void meminfoGivesTotalAndAvailableInBytes() {
        assertThat(ProcFiles.parseMemInfo(Fixtures.read("proc/meminfo.txt")))
                .isEqualTo(new ProcFiles.Memory(2113434464L * 1024, 2059178844L * 1024));
        assertThat(ProcFiles.parseMemInfo("MemTotal: 1000 kB\nMemFree: 400 kB\n"))
                .as("old kernels without MemAvailable").isEqualTo(new ProcFiles.Memory(1000 * 1024, 400 * 1024));
        assertThatThrownBy(() -> ProcFiles.parseMemInfo("MemTotal: lots\n")).isInstanceOf(FactoryException.class);
    }

    @Test
    void processRunnerSaysAbsentToolsAreNotInstalled() {
        assertThat(CommandRunner.system().run(List.of("factory-no-such-discovery-tool"), Duration.ofSeconds(5))).isEmpty();
    }

    @Test
    void processRunnerCapturesOutputAndExitCode() {
        CommandRunner.Result r = CommandRunner.system()
                .run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Duration.ofSeconds(5)).orElseThrow();
        assertThat(r).isEqualTo(new CommandRunner.Result(3, "out\n", "err\n", false));
    }

    @Test
    void processRunnerStopsAToolThatHangs() {
        CommandRunner.Result r = CommandRunner.system()
                .run(List.of("sh", "-c", "exec sleep 30"), Duration.ofMillis(200)).orElseThrow();
        assertThat(r.timedOut()).isTrue();
    }
}
