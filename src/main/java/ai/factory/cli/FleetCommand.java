package ai.factory.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code factory fleet}: the nodes, what they have and what they serve. */
@Command(name = "fleet", mixinStandardHelpOptions = true,
        description = "Show the nodes: CPUs, memory, accelerators and the deployments they serve.")
final class FleetCommand implements Callable<Integer> {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(SimulateCommand.class);

    @Spec CommandSpec spec;
    @Mixin ClientOptions client;

    @Override
    public Integer call() {
        JsonNode result = client.client().get("/api/v1/fleet");
        PrintWriter out = spec.commandLine().getOut();
        if (client.json) {
            ModelsCommand.printJson(out, result);
        } else {
            print(result, out);
        }
        return 0;
    }

    /** The answer of {@code GET /api/v1/fleet} as tables. */
    static void print(JsonNode result, PrintWriter out) {
        Table nodes = new Table("NODE", "CPU", "CORES", "RAM FREE/TOTAL", "ACCELERATORS");
        Table accelerators = new Table("NODE", "KIND", "INDEX", "NAME", "MEMORY USED/TOTAL", "DETAIL", "HELD BY");
        Table deployments = new Table("NODE", "DEPLOYMENT", "MODEL", "STATE", "REPLICAS", "WHERE", "ACTIVE");
        List<String> offload = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (JsonNode n : result.path("nodes")) {
            String name = n.path("name").asText();
            JsonNode cpu = n.path("cpu");
            nodes.row(name, cpu.path("model").asText(),
                    cpu.path("cores").asInt() + "c/" + cpu.path("threads").asInt() + "t",
                    ModelsCommand.size(n.path("memory").path("available").asLong()) + " / "
                            + ModelsCommand.size(n.path("memory").path("total").asLong()),
                    summary(n.path("accelerators")));
            for (JsonNode a : n.path("accelerators")) {
                accelerators.row(name, a.path("kind").asText(), a.path("index").asInt(), a.path("name").asText(),
                        (a.path("memoryUsed").isNumber() ? ModelsCommand.size(a.path("memoryUsed").asLong()) : "?")
                                + " / " + ModelsCommand.size(a.path("memoryTotal").asLong()),
                        detail(a), a.path("allocatedTo").isTextual() ? a.path("allocatedTo").asText()
                                : a.path("allocated").asBoolean() ? "(another project)" : "-");
            }
            for (JsonNode d : n.path("deployments")) {
                deployments.row(name, d.path("id").asText(), d.path("model").asText() + ":" + d.path("version").asInt(),
                        d.path("state").asText(), d.path("replicas").asInt(), where(d.path("placements")),
                        d.path("activeRequests").asInt());
            }
            JsonNode memory = n.path("memory");
            if (memory.has("free")) {
                offload.add(name + ": host memory " + ModelsCommand.size(memory.path("free").asLong()) + " free"
                        + (memory.path("limit").isNumber() ? " of memory.limit "
                                + ModelsCommand.size(memory.path("limit").asLong()) : "")
                        + "; deployments hold " + ModelsCommand.size(memory.path("heldByDeployments").asLong())
                        + ", fine-tuning " + ModelsCommand.size(memory.path("heldByTraining").asLong()));
            }
            if (n.has("gpuOffload")) {
                offload.add(name + ": GPU offload " + n.path("gpuOffload").path("detail").asText() + "; "
                        + n.path("gpuOffload").path("freeGpus").asInt() + " of " + n.path("gpuOffload").path("gpus").asInt()
                        + " GPU(s) free");
            }
            n.path("warnings").forEach(w -> warnings.add(name + ": " + w.asText()));
        }
        nodes.print(out);
        if (accelerators.size() > 0) {
            out.println();
            accelerators.print(out);
        }
        if (deployments.size() > 0) {
            out.println();
            deployments.print(out);
        }
        if (!offload.isEmpty()) {
            out.println();
            offload.forEach(out::println);
        }
        warnings.forEach(w -> out.println("warning: " + w));
        out.flush();
    }

    /** Accelerators grouped by kind and name, e.g. {@code 8 x NVIDIA H100 80GB HBM3 (79.6 GiB)}. */
    private static String summary(JsonNode accelerators) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (JsonNode a : accelerators) {
            String key = a.path("kind").asText() + " " + a.path("name").asText() + " ("
                    + ModelsCommand.size(a.path("memoryTotal").asLong()) + ")";
            counts.merge(key, 1, Integer::sum);
        }
        if (counts.isEmpty()) {
            return "none";
        }
        List<String> parts = new ArrayList<>();
        counts.forEach((k, v) -> parts.add(v + " x " + k));
        return String.join(", ", parts);
    }

    /** Where a deployment's replicas run, e.g. {@code cpu} or {@code gpu [0, 1]; gpu [2, 3]}. */
    private static String where(JsonNode placements) {
        List<String> parts = new ArrayList<>();
        for (JsonNode p : placements) {
            parts.add(p.path("device").asText().equals("gpu") ? "gpu " + p.path("gpus") : "cpu");
        }
        return parts.isEmpty() ? "-" : String.join("; ", parts.stream().distinct().toList().size() == 1
                && parts.getFirst().equals("cpu") ? List.of("cpu") : parts);
    }

    private static String detail(JsonNode a) {
        return switch (a.path("kind").asText()) {
            case "nvidia" -> "cc " + a.path("computeCapability").asText()
                    + (a.path("mig").isEmpty() ? "" : ", " + a.path("mig").size() + " MIG")
                    + (a.path("nvlinkDomain").isTextual() ? ", NVLink " + a.path("nvlinkDomain").asText() : "");
            case "neuron" -> a.path("neuronCores").asInt() + " NeuronCores";
            case "amd" -> a.path("target").asText() + ", " + a.path("computeUnits").asInt() + " CUs";
            default -> "";
        };
    }
}
