package ai.factory.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The fleet gauges as Prometheus scrapes them, from a node whose tools were recorded. */
class FleetMetricsTest {
    @Test
    void nodeAndAcceleratorMemoryAreGaugesTaggedByKindIndexAndName() {
        FixtureCommandRunner tools = new FixtureCommandRunner()
                .answer(NvidiaSmi.QUERY, "nvidia/query-8x-h100-sxm.csv")
                .answer(NvidiaSmi.REPORT, "nvidia/report-8x-h100-sxm.xml")
                .answer(NeuronLs.COMMAND, "neuron/trn2-48xlarge.json");
        Discovery discovery = new Discovery("gpu-node-7", tools,
                p -> p.equals(Path.of("/proc/meminfo")) ? Optional.of(Fixtures.read("proc/meminfo.txt")) : Optional.empty(),
                Clock.systemUTC(), Duration.ofMinutes(1));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new FleetMetrics(discovery).bindTo(registry);

        String scrape = registry.scrape();
        assertThat(scrape).contains(
                "factory_node_memory_available_bytes{node=\"gpu-node-7\"} 2.108599136256E12",
                "factory_node_memory_total_bytes{node=\"gpu-node-7\"} 2.164156891136E12",
                "factory_accelerator_memory_total_bytes{index=\"7\",kind=\"nvidia\",name=\"NVIDIA H100 80GB HBM3\","
                        + "node=\"gpu-node-7\"} 8.5520809984E10",
                "factory_accelerator_memory_used_bytes{index=\"7\",kind=\"nvidia\",name=\"NVIDIA H100 80GB HBM3\","
                        + "node=\"gpu-node-7\"} 7.4694262784E10",
                "factory_accelerator_memory_total_bytes{index=\"15\",kind=\"neuron\",name=\"neuron\","
                        + "node=\"gpu-node-7\"} 1.03079215104E11");
        assertThat(scrape).as("Neuron devices report no memory in use")
                .doesNotContain("factory_accelerator_memory_used_bytes{index=\"15\",kind=\"neuron\"");
    }
}
