package ai.factory.cli;

import ai.factory.Json;
import ai.factory.fleet.capacity.AcceleratorSpec;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.gguf.GgufReader;
import ai.factory.serving.MemoryPlanner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** {@code factory models plan FILE.gguf}: what one replica needs and where it fits, from the file alone. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Estimate the memory a GGUF model needs (weights per layer, KV cache, compute buffer) and where "
                + "it fits: host memory, fully on accelerators (how many), partly offloaded (n_gpu_layers), or not at all.",
                "Reads the file only; no server needed."})
final class PlanCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "FILE.gguf", description = "the model file")
    Path file;

    @Option(names = "--ctx", description = "context per sequence (default: the model's trained context)")
    long context;

    @Option(names = "--parallel", defaultValue = "1", description = "sequences decoded together (default: ${DEFAULT-VALUE})")
    int parallel;

    @Option(names = "--cache-type", defaultValue = "f16", converter = CacheTypeConverter.class,
            description = "KV cache type: f16, q8_0 or q4_0 (default: ${DEFAULT-VALUE})")
    CacheType cacheType;

    @Option(names = "--accelerator", converter = AcceleratorConverter.class, paramLabel = "KIND:MEMORY×COUNT|cpu",
            description = "accelerators to plan for, e.g. nvidia:80GiB×8 (x or * also work); cpu for none (the default)")
    List<AcceleratorSpec> accelerators = new ArrayList<>();

    @Option(names = "--ram", paramLabel = "GiB", description = "free host memory in GiB (default: this machine's)")
    Double ramGib;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() throws IOException {
        if (parallel < 1 || context < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--parallel must be at least 1 and --ctx not negative");
        }
        Footprint f = CapacityEstimator.footprint(GgufReader.read(file), CapacityEstimator.Request.of(context, parallel, cacheType));
        long hostFree = ramGib == null ? MemoryPlanner.availableOnThisMachine() : (long) (ramGib * (1L << 30));
        List<AcceleratorSpec> devices = accelerators.stream().filter(a -> a != CPU).toList();
        CapacityPlan plan = CapacityEstimator.plan(f, hostFree, devices);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ModelsCommand.printJson(out, Json.mapper().valueToTree(toJson(plan)));
            return 0;
        }
        Table table = new Table("PART", "SIZE");
        table.row("weights (" + f.layers() + " layers)", ModelsCommand.size(f.layerWeightsTotal()));
        table.row("weights (token_embd, host)", ModelsCommand.size(f.hostWeights()));
        table.row("weights (output)", ModelsCommand.size(f.outputWeights()));
        table.row("KV cache (" + f.contextTokens() + " tokens, " + f.cacheType().id() + ")", ModelsCommand.size(f.kvCache()));
        table.row("compute buffer", ModelsCommand.size(f.compute()));
        table.row("total", ModelsCommand.size(f.total()));
        table.print(out);
        out.println();
        out.println(switch (plan) {
            case CapacityPlan.HostMemory h -> "fits in host memory: " + ModelsCommand.size(h.hostBytes()) + " of "
                    + ModelsCommand.size(h.hostFree()) + " free";
            case CapacityPlan.FullOffload g -> "fits on " + g.devices() + " " + g.kind() + " accelerator(s), layers split "
                    + g.layersPerDevice() + ", per device " + sizes(g.deviceBytes()) + " of " + ModelsCommand.size(g.deviceFree())
                    + "; host " + ModelsCommand.size(g.hostBytes());
            case CapacityPlan.PartialOffload p -> "partial offload: n_gpu_layers = " + p.gpuLayers() + " on "
                    + p.deviceBytes().size() + " " + p.kind() + " accelerator(s) (" + sizes(p.deviceBytes()) + " of "
                    + ModelsCommand.size(p.deviceFree()) + " each); host " + ModelsCommand.size(p.hostBytes()) + " of "
                    + ModelsCommand.size(p.hostFree()) + " free";
            case CapacityPlan.DoesNotFit d -> d.reason();
        });
        out.flush();
        return 0;
    }

    private static String sizes(List<Long> bytes) {
        return String.join(", ", bytes.stream().map(ModelsCommand::size).toList());
    }

    private static Map<String, Object> toJson(CapacityPlan plan) {
        Footprint f = plan.footprint();
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> need = new LinkedHashMap<>();
        need.put("layers", f.layers());
        need.put("layerWeights", f.layerWeights());
        need.put("hostWeights", f.hostWeights());
        need.put("outputWeights", f.outputWeights());
        need.put("weights", f.weights());
        need.put("contextTokens", f.contextTokens());
        need.put("cacheType", f.cacheType().id());
        need.put("kvCache", f.kvCache());
        need.put("compute", f.compute());
        need.put("total", f.total());
        switch (plan) {
            case CapacityPlan.HostMemory h -> {
                m.put("fit", "host");
                m.put("hostBytes", h.hostBytes());
                m.put("hostFree", h.hostFree());
            }
            case CapacityPlan.FullOffload g -> {
                m.put("fit", "accelerators");
                m.put("kind", g.kind());
                m.put("devices", g.devices());
                m.put("layersPerDevice", g.layersPerDevice());
                m.put("deviceBytes", g.deviceBytes());
                m.put("deviceFree", g.deviceFree());
                m.put("hostBytes", g.hostBytes());
            }
            case CapacityPlan.PartialOffload p -> {
                m.put("fit", "partial");
                m.put("kind", p.kind());
                m.put("gpuLayers", p.gpuLayers());
                m.put("deviceBytes", p.deviceBytes());
                m.put("deviceFree", p.deviceFree());
                m.put("hostBytes", p.hostBytes());
                m.put("hostFree", p.hostFree());
            }
            case CapacityPlan.DoesNotFit d -> {
                m.put("fit", "none");
                m.put("needBytes", d.needBytes());
                m.put("hostFree", d.hostFree());
                m.put("reason", d.reason());
            }
        }
        m.put("need", need);
        return m;
    }

    /** Stands for {@code cpu}: no accelerator. */
    static final AcceleratorSpec CPU = new AcceleratorSpec("cpu", 1, 1);

    static final class CacheTypeConverter implements ITypeConverter<CacheType> {
        @Override
        public CacheType convert(String value) {
            try {
                return CacheType.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class AcceleratorConverter implements ITypeConverter<AcceleratorSpec> {
        @Override
        public AcceleratorSpec convert(String value) {
            if (value.strip().equalsIgnoreCase("cpu")) {
                return CPU;
            }
            try {
                return AcceleratorSpec.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
