package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.DeploymentWire.CreateDeployment;
import ai.factory.api.codec.admin.DeploymentWire.Deployment;
import ai.factory.api.codec.admin.DeploymentWire.Placement;
import ai.factory.engine.llama.KvCacheType;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory deploy MODEL[:VERSION]}: put a model in service and wait until it is ready. */
@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = "Deploy a model version and wait until it is ready or failed (admins, and developers and "
                + "project admins of the model's project).")
final class DeployCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "MODEL[:VERSION]", description = "e.g. acme/llama-3.2-1b or acme/llama-3.2-1b:2")
    String model;

    @Option(names = "--replicas", defaultValue = "1", description = "Engine instances (default 1).")
    int replicas;

    @Option(names = "--parallel", defaultValue = "1", description = "Sequences each replica generates at once (default 1).")
    int parallel;

    @Option(names = "--ctx", defaultValue = "0",
            description = "Tokens per sequence, prompt and output (default: the model's, at most 4096).")
    int context;

    @Option(names = "--threads", defaultValue = "0",
            description = "CPU threads per replica (default: the site's generation.threads, all cores unless set).")
    int threads;

    @Option(names = "--queue", defaultValue = "64", description = "Requests that may wait per replica before 429 (default 64).")
    int queue;

    @Option(names = "--gpu-layers", defaultValue = "auto", paramLabel = "auto|N",
            description = "Layers on GPUs: auto (default: the capacity plan chooses all, some or none, as the node's "
                    + "free GPUs hold them), 0 (CPU only) or N (the last N layers, on as few free GPUs as hold them).")
    String gpuLayers;

    @Option(names = "--step-tokens", defaultValue = "auto", paramLabel = "auto|N",
            description = "Tokens a GGUF replica decodes in one step while sequences generate: auto (default: prompt "
                    + "chunks sized so that a step with prompt tokens takes about four times a step without, a "
                    + "prompt costing at most 16 such steps whole) or N (1 to 512: N fixes the step's tokens).")
    String stepTokens;

    @Option(names = "--cache-type", defaultValue = "f16", paramLabel = "f16|q8_0|q4_0",
            description = "Element type of a GGUF replica's KV cache: f16 (default), q8_0 or q4_0 (about a half or a "
                    + "quarter of f16's memory).")
    String cacheType;

    @Option(names = "--prefix-cache", defaultValue = "0", paramLabel = "N",
            description = "Sequences beyond --parallel that keep evicted slots' prompts for later turns of a "
                    + "conversation; each takes a slot's KV memory (default 0).")
    int prefixCache;

    @Option(names = "--priority", defaultValue = "0", paramLabel = "N",
            description = "From -1000 to 1000 (default 0): where no worker of a cluster has room for a replica, it "
                    + "may end replicas of deployments with a lower priority, which wait for room elsewhere.")
    int priority;

    @Option(names = "--no-wait", description = "Return as soon as the deployment is accepted.")
    boolean noWait;

    @Option(names = "--timeout", defaultValue = "600", description = "Seconds to wait for it to be ready (default 600).")
    long timeoutSeconds;

    private int gpuLayerCount() {
        try {
            return Integer.parseInt(gpuLayers);
        } catch (NumberFormatException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--gpu-layers must be auto or a whole number of layers, not '" + gpuLayers + "'");
        }
    }

    private int stepTokenCount() {
        try {
            return Integer.parseInt(stepTokens);
        } catch (NumberFormatException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--step-tokens must be auto or a whole number of tokens, not '" + stepTokens + "'");
        }
    }

    private String cacheTypeId() {
        try {
            return KvCacheType.parse(cacheType).id();
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--cache-type must be f16, q8_0 or q4_0, not '" + cacheType + "'");
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        CreateDeployment body = new CreateDeployment(model, replicas, parallel, context, threads, queue,
                gpuLayers.equals("auto") ? TextNode.valueOf("auto") : IntNode.valueOf(gpuLayerCount()),
                stepTokens.equals("auto") ? TextNode.valueOf("auto") : IntNode.valueOf(stepTokenCount()),
                cacheTypeId(), prefixCache, priority);
        FactoryClient http = client.client();
        Deployment d = http.post("/api/v1/deployments", body, Deployment.class);
        PrintWriter out = spec.commandLine().getOut();
        String id = d.id();
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        String last = "";
        while (!noWait && isSettling(d.state()) && System.nanoTime() < deadline) {
            if (!client.json && !d.state().equals(last)) {
                last = d.state();
                spec.commandLine().getErr().println("  " + id + ": " + last + "...");
                spec.commandLine().getErr().flush();
            }
            Thread.sleep(250); // a person is waiting on a load of seconds to minutes; polling is plenty
            d = http.get("/api/v1/deployments/" + id, Deployment.class);
        }
        if (client.json) {
            ModelsCommand.printJson(out, d);
        } else {
            out.printf("Deployment %s of %s:%d is %s%s%n", id, d.model(), d.version(), d.state(),
                    d.reason() == null ? "" : ": " + d.reason());
            for (Placement p : d.placements()) {
                String device = !p.device().equals("gpu") ? "CPU"
                        : p.node() != null ? p.gpuLayers() + " layers on " + p.gpuCount() + " GPU(s)"
                        : p.gpuLayers() + " layers on GPU(s) " + Json.mapper().valueToTree(p.gpus());
                out.printf("  replica %d: %s%s%n", p.replica(), device, p.node() == null ? "" : " on node " + p.node());
            }
            out.flush();
        }
        return "failed".equals(d.state()) ? 1 : 0;
    }

    private static boolean isSettling(String state) {
        return "pending".equals(state) || "loading".equals(state);
    }
}
