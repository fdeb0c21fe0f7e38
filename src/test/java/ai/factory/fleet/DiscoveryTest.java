package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.MovableClock;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Discovery through its real code, with recorded tool outputs and host files fed in at the boundary. */
class DiscoveryTest {
    private static final long MIB = 1L << 20;

    private final FixtureCommandRunner tools = new FixtureCommandRunner();
    private final AtomicReference<String> meminfo = new AtomicReference<>(Fixtures.read("proc/meminfo.txt"));
    private final MovableClock clock = MovableClock.at(Instant.parse("2026-11-25T12:00:00Z"));

    private Discovery discovery() {
        Map<Path, String> files = Map.of(Path.of("/proc/cpuinfo"), Fixtures.read("proc/cpuinfo-2s-xeon-8480.txt"));
        return new Discovery("gpu-node-7", tools,
                p -> p.equals(Path.of("/proc/meminfo")) ? Optional.of(meminfo.get()) : Optional.ofNullable(files.get(p)),
                clock, Duration.ofSeconds(10));
    }

    @Test
    void eightH100NodeIsInventoriedWithNvlinkDomainsAndNoWarnings() {
        tools.answer(NvidiaSmi.QUERY, "nvidia/query-8x-h100-sxm.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-8x-h100-sxm.xml");
        NodeInventory node = discovery().inventory();
        assertThat(node.nodeName()).isEqualTo("gpu-node-7");
        assertThat(node.cpu().cores()).isEqualTo(4);
        assertThat(node.memoryTotalBytes()).isEqualTo(2113434464L * 1024);
        assertThat(node.memoryAvailableBytes()).isEqualTo(2059178844L * 1024);
        assertThat(node.accelerators()).hasSize(8).allSatisfy(a -> assertThat(a).isInstanceOf(NvidiaGpu.class));
        assertThat(((NvidiaGpu) node.accelerators().getFirst()).nvlinkDomain()).isPresent();
        assertThat(node.discoveryWarnings()).isEmpty();
    }

    @Test
    void absentToolsAreNormalAndGiveNoWarnings() {
        NodeInventory node = discovery().inventory();
        assertThat(node.accelerators()).isEmpty();
        assertThat(node.discoveryWarnings()).isEmpty();
        assertThat(tools.runs()).containsExactly(NvidiaSmi.QUERY, NeuronLs.COMMAND, AmdSmi.COMMAND, RocmSmi.COMMAND);
    }

    @Test
    void rocmSmiIsAskedOnlyWhereAmdSmiIsNotInstalled() {
        tools.answer(RocmSmi.COMMAND, "amd/rocm-smi-mi300x.json");
        assertThat(discovery().inventory().accelerators()).hasSize(2)
                .allSatisfy(a -> assertThat(a.memoryUsedBytes()).isPresent());
        FixtureCommandRunner both = tools.answer(AmdSmi.COMMAND, "amd/mi300x-static.json");
        Discovery d = new Discovery("n", both, p -> java.util.Optional.empty(), clock, Duration.ZERO);
        assertThat(d.inventory().accelerators()).hasSize(8);
        assertThat(both.runs().getLast()).isEqualTo(AmdSmi.COMMAND);
    }

    @Test
    void failingOrGarbledToolsBecomeWarningsAndTheOthersAreStillListed() {
        tools.answer(NvidiaSmi.QUERY, new CommandRunner.Result(9, "", "NVIDIA-SMI has failed because it couldn't "
                        + "communicate with the NVIDIA driver.\nMake sure that the latest driver is installed.", false))
                .answer(NeuronLs.COMMAND, "neuron/truncated.json")
                .answer(AmdSmi.COMMAND, "amd/mi300x-static.json");
        NodeInventory node = discovery().inventory();
        assertThat(node.accelerators()).hasSize(8).allSatisfy(a -> assertThat(a).isInstanceOf(AmdGpu.class));
        assertThat(node.discoveryWarnings()).containsExactly(
                "nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,compute_cap,driver_version "
                        + "--format=csv,noheader,nounits: exited with 9: NVIDIA-SMI has failed because it couldn't "
                        + "communicate with the NVIDIA driver.",
                node.discoveryWarnings().get(1));
        assertThat(node.discoveryWarnings().get(1))
                .startsWith("neuron-ls --json-output: neuron-ls output is not as expected: not valid JSON");
    }

    @Test
    void aHangingToolIsAWarning() {
        tools.answer(NeuronLs.COMMAND, new CommandRunner.Result(-1, "", "", true));
        assertThat(discovery().inventory().discoveryWarnings())
                .containsExactly("neuron-ls --json-output: no answer within 5 s");
    }

    @Test
    void aBrokenReportKeepsTheGpusOfTheQuery() {
        tools.answer(NvidiaSmi.QUERY, "nvidia/query-missing-fields.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-truncated.xml");
        NodeInventory node = discovery().inventory();
        assertThat(node.accelerators()).singleElement().isInstanceOfSatisfying(NvidiaGpu.class, g -> {
            assertThat(g.memoryTotalBytes()).isEqualTo(40960 * MIB);
            assertThat(g.mig()).isEmpty();
        });
        assertThat(node.discoveryWarnings()).singleElement().asString()
                .startsWith("nvidia-smi -q -x: nvidia-smi output is not as expected: not well-formed XML");
    }

    @Test
    void trainiumNodeListsItsNeuronDevices() {
        tools.answer(NeuronLs.COMMAND, "neuron/trn2-48xlarge.json");
        NodeInventory node = discovery().inventory();
        assertThat(node.accelerators()).hasSize(16)
                .allSatisfy(a -> assertThat(a.kind()).isEqualTo(Accelerator.Kind.NEURON));
    }

    @Test
    void toolResultsAreCachedForTheTtlWhileHostMemoryIsReadEachTime() {
        tools.answer(NvidiaSmi.QUERY, "nvidia/query-single-rtx4090.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-mig-a100.xml");
        Discovery discovery = discovery();
        discovery.inventory();
        int runs = tools.runs().size();
        meminfo.set("MemTotal: 2000 kB\nMemAvailable: 1500 kB\n");
        clock.advance(Duration.ofSeconds(9));
        NodeInventory later = discovery.inventory();
        assertThat(tools.runs()).hasSize(runs);
        assertThat(later.memoryAvailableBytes()).isEqualTo(1500 * 1024);
        clock.advance(Duration.ofSeconds(1));
        discovery.inventory();
        assertThat(tools.runs()).hasSize(2 * runs);
    }

    @Test
    void thisMachineHasCpusMemoryAndOnlyTheAcceleratorsItsToolsReport() {
        NodeInventory node = Discovery.forThisMachine(Clock.systemUTC()).inventory();
        assertThat(node.nodeName()).isNotBlank();
        assertThat(node.cpu().cores()).isGreaterThanOrEqualTo(1);
        assertThat(node.cpu().threads()).isGreaterThanOrEqualTo(node.cpu().cores());
        assertThat(node.memoryTotalBytes()).isPositive();
        assertThat(node.memoryAvailableBytes()).isBetween(0L, node.memoryTotalBytes());
        if (Stream.of("nvidia-smi", "neuron-ls", "amd-smi").noneMatch(DiscoveryTest::onPath)) {
            assertThat(node.accelerators()).isEmpty();
            assertThat(node.discoveryWarnings()).isEmpty();
        }
    }

    private static boolean onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, tool)));
    }
}
