package ai.factory.cli;

import ai.factory.api.codec.admin.PlanWire;
import ai.factory.models.ModelRef;
import org.jspecify.annotations.Nullable;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import ai.factory.fleet.capacity.AcceleratorSpec;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.CapacityPlan;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.gguf.GgufReader;
import ai.factory.serving.DeploymentSpec;
import ai.factory.fleet.HostMemory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code factory models plan FILE.gguf|NS/MODEL[:V]}: what one replica needs and where it fits; a file is read here
 * (no server), a registered model is planned by the server ({@code GET /api/v1/models/NS/MODEL/plan}).
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Estimate the memory a GGUF model needs (weights per layer, KV cache, compute buffer) and where "
                + "it fits: host memory, fully on accelerators (how many), partly offloaded (n_gpu_layers), or not at all.",
                "FILE.gguf is read here and needs no server; NS/MODEL[:V] asks the server, against its free memory."})
final class PlanCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ClientOptions client;

    @Parameters(paramLabel = "FILE.gguf|NS/MODEL[:V]", description = "a GGUF file, or a model in the registry")
    String target;

    @Option(names = "--ctx", description = "context per sequence (default: the model's trained context)")
    long context;

    @Option(names = "--parallel", defaultValue = "1", description = "sequences decoded together (default: ${DEFAULT-VALUE})")
    int parallel;

    @Option(names = "--prefix-cache", defaultValue = "0", paramLabel = "N",
            description = "sequences beyond --parallel that keep evicted slots' prompts, each with a slot's KV memory "
                    + "(default: ${DEFAULT-VALUE})")
    int prefixCache;

    @Option(names = "--cache-type", defaultValue = "f16", converter = CacheTypeConverter.class,
            description = "KV cache type: f16, q8_0 or q4_0 (default: ${DEFAULT-VALUE})")
    CacheType cacheType;

    @Option(names = "--accelerator", converter = AcceleratorConverter.class, paramLabel = "KIND:MEMORY×COUNT|cpu",
            description = "accelerators to plan for, e.g. nvidia:80GiB×8 (x or * also work); cpu for none (the default)")
    List<AcceleratorSpec> accelerators = new ArrayList<>();

    @Option(names = "--ram", paramLabel = "GiB", description = "free host memory in GiB (default: this machine's)")
    @Nullable Double ramGib;

    @Override
    public Integer call() throws IOException {
        if (parallel < 1 || context < 0) {
            throw new ParameterException(spec.commandLine(), "--parallel must be at least 1 and --ctx not negative");
        }
        if (prefixCache < 0 || prefixCache > DeploymentSpec.MAX_PREFIX_CACHE) {
            throw new ParameterException(spec.commandLine(), "--prefix-cache must be between 0 and "
                    + DeploymentSpec.MAX_PREFIX_CACHE + ", not " + prefixCache);
        }
        Path file = Path.of(target);
        if (!Files.isRegularFile(file)) {
            if (target.endsWith(".gguf")) {
                throw new ParameterException(spec.commandLine(), "no such file: " + target);
            }
            return planOnServer();
        }
        Footprint f = CapacityEstimator.footprint(GgufReader.read(file),
                CapacityEstimator.Request.of(context, Math.addExact(parallel, prefixCache), cacheType));
        long hostFree = ramGib == null ? HostMemory.availableOnThisMachine() : (long) (ramGib * (1L << 30));
        List<AcceleratorSpec> devices = accelerators.stream().filter(a -> a != CPU).toList();
        CapacityPlan plan = CapacityEstimator.plan(f, hostFree, devices);
        PrintWriter out = spec.commandLine().getOut();
        if (client.json) {
            ModelsCommand.printJson(out, PlanWire.Plan.of(null, plan));
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

    private Integer planOnServer() {
        ModelRef ref = ModelRef.parse(target);
        StringBuilder query = new StringBuilder("?ctx=" + context + "&parallel=" + parallel + "&prefixCache="
                + prefixCache + "&cacheType=" + cacheType.id());
        ref.version().ifPresent(v -> query.append("&version=").append(v));
        for (AcceleratorSpec a : accelerators) {
            query.append("&accelerator=").append(URLEncoder.encode(
                    a == CPU ? "cpu" : a.kind() + ":" + a.memoryBytes() + "B×" + a.count(), StandardCharsets.UTF_8));
        }
        PlanWire.Plan result = client.client().get(ModelsCommand.path(ref.name()) + "/plan" + query,
                PlanWire.Plan.class);
        PrintWriter out = spec.commandLine().getOut();
        if (client.json) {
            ModelsCommand.printJson(out, result);
        } else {
            PlanWire.Need need = result.need();
            Table table = new Table("MODEL", "FIT", "WEIGHTS", "KV CACHE", "COMPUTE", "TOTAL", "DETAIL");
            table.row(Objects.toString(result.model(), ""), result.fit(), ModelsCommand.size(need.weights()),
                    ModelsCommand.size(need.kvCache()), ModelsCommand.size(need.compute()),
                    ModelsCommand.size(need.total()), switch (result.fit()) {
                        case "accelerators" -> Objects.requireNonNullElse(result.devices(), 0) + " × "
                                + Objects.toString(result.kind(), "");
                        case "partial" -> "n_gpu_layers = " + Objects.requireNonNullElse(result.gpuLayers(), 0);
                        case "none" -> Objects.toString(result.reason(), "");
                        default -> "host free " + ModelsCommand.size(Objects.requireNonNullElse(result.hostFree(), 0L));
                    });
            table.print(out);
            out.flush();
        }
        return 0;
    }

    private static String sizes(List<Long> bytes) {
        return String.join(", ", bytes.stream().map(ModelsCommand::size).toList());
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
