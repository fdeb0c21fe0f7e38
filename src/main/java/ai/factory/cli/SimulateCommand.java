package ai.factory.cli;

import ai.factory.Json;
import ai.factory.fleet.placement.FleetSimulator;
import ai.factory.fleet.placement.PlacementEngine;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** {@code factory fleet simulate}: the placement engine against a synthetic fleet and workload. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = {"Replay a seeded synthetic stream of deployments (1/2/4/8-device replicas, priorities, projects "
                + "with quotas) and node failures through the placement engine, and report throughput, utilisation, "
                + "fragmentation, rejections and preemptions.",
                "Runs locally; no server needed. The same seed gives the same report, timings aside."})
final class SimulateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--nodes", defaultValue = "10000", description = "nodes (default: ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--gpus-per-node", defaultValue = "8", description = "accelerators per node (default: ${DEFAULT-VALUE})")
    int gpusPerNode;

    @Option(names = "--mix", defaultValue = "standard", converter = MixConverter.class,
            description = {"workload mix (default: ${DEFAULT-VALUE}):",
                    "  standard         1/2/4/8 devices at 40/30/20/10%%, 16-80 GiB each, priorities 0/1/2",
                    "  inference-small  1 device at 85%%, 2 at 15%%, 8-40 GiB each, many priority 1",
                    "  training-large   8 devices at 60%%, 4 at 30%%, 2 at 10%%, 60-80 GiB each",
                    "  mixed-tp         nodes of two NVLink domains; half the replicas tensor-parallel over",
                    "                   2 or 4 devices of one domain, the rest 1 or 2 devices anywhere"})
    FleetSimulator.Mix mix;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--events", defaultValue = "200000", description = "events to replay (default: ${DEFAULT-VALUE})")
    int events;

    @Option(names = "--scoring", defaultValue = "bin-pack", converter = ScoringConverter.class,
            description = "bin-pack (default) or spread")
    PlacementEngine.Scoring scoring;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
        FleetSimulator.Options options;
        try {
            options = new FleetSimulator.Options(nodes, gpusPerNode, mix, seed, events, scoring);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Map<String, Object> report = FleetSimulator.run(options).toMap();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ModelsCommand.printJson(out, Json.mapper().valueToTree(report));
            return 0;
        }
        Table table = new Table("METRIC", "VALUE");
        report.forEach(table::row);
        table.print(out);
        out.flush();
        return 0;
    }

    static final class MixConverter implements ITypeConverter<FleetSimulator.Mix> {
        @Override
        public FleetSimulator.Mix convert(String value) {
            try {
                return FleetSimulator.Mix.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class ScoringConverter implements ITypeConverter<PlacementEngine.Scoring> {
        @Override
        public PlacementEngine.Scoring convert(String value) {
            return switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "bin-pack", "binpack", "bin_pack" -> PlacementEngine.Scoring.BIN_PACK;
                case "spread" -> PlacementEngine.Scoring.SPREAD;
                default -> throw new TypeConversionException("unknown scoring '" + value + "'; use bin-pack or spread");
            };
        }
    }
}
