package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.OptionalLong;

/**
 * The node's memory and its accelerators' memory as gauges ({@code factory_node_memory_available_bytes},
 * {@code factory_accelerator_memory_total_bytes{kind,index,name}}, {@code …_used_bytes} where the tool reports
 * it). Accelerators are those discovered when the gauges are bound; the values follow the discovery cache.
 */
public final class FleetMetrics implements MeterBinder {
    private final Discovery discovery;

    public FleetMetrics(Discovery discovery) {
        this.discovery = requireNonNull(discovery, "discovery is null");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        NodeInventory node = discovery.inventory();
        Tags nodeTag = Tags.of("node", node.nodeName());
        Gauge.builder("factory.node.memory.total", discovery, d -> d.inventory().memoryTotalBytes())
                .description("Memory of this node").baseUnit("bytes").tags(nodeTag).register(registry);
        Gauge.builder("factory.node.memory.available", discovery, d -> d.inventory().memoryAvailableBytes())
                .description("Memory available for new work on this node (MemAvailable)").baseUnit("bytes")
                .tags(nodeTag).register(registry);
        for (Accelerator a : node.accelerators()) {
            Tags tags = nodeTag.and("kind", a.kind().id(), "index", Integer.toString(a.index()), "name", a.name());
            Gauge.builder("factory.accelerator.memory.total", discovery,
                            d -> value(d, a, x -> OptionalLong.of(x.memoryTotalBytes())))
                    .description("Device memory of an accelerator").baseUnit("bytes").tags(tags).register(registry);
            if (a.memoryUsedBytes().isPresent()) {
                Gauge.builder("factory.accelerator.memory.used", discovery, d -> value(d, a, Accelerator::memoryUsedBytes))
                        .description("Device memory in use on an accelerator").baseUnit("bytes").tags(tags)
                        .register(registry);
            }
        }
    }

    /** The accelerator's value as discovered now, or NaN once it is gone. */
    private static double value(Discovery d, Accelerator a, java.util.function.Function<Accelerator, OptionalLong> f) {
        return d.inventory().accelerators().stream()
                .filter(x -> x.kind() == a.kind() && x.index() == a.index())
                .findFirst().map(f).filter(OptionalLong::isPresent).map(v -> (double) v.getAsLong())
                .orElse(Double.NaN);
    }
}
