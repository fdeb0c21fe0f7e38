package ai.factory.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory deploy MODEL[:VERSION]}: put a model in service and wait until it is ready. */
@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = "Deploy a model version (admin only) and wait until it is ready or failed.")
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

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads per replica (default: all cores).")
    int threads;

    @Option(names = "--queue", defaultValue = "64", description = "Requests that may wait per replica before 429 (default 64).")
    int queue;

    @Option(names = "--gpu-layers", defaultValue = "auto", paramLabel = "auto|N",
            description = "Layers on GPUs: auto (default: the capacity plan chooses all, some or none, as the node's "
                    + "free GPUs hold them), 0 (CPU only) or N (the last N layers, on as few free GPUs as hold them).")
    String gpuLayers;

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

    @Override
    public Integer call() throws InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("replicas", replicas);
        body.put("parallel", parallel);
        body.put("context", context);
        body.put("threads", threads);
        body.put("queue", queue);
        body.put("gpuLayers", gpuLayers.equals("auto") ? "auto" : gpuLayerCount());
        FactoryClient http = client.client();
        JsonNode d = http.post("/api/v1/deployments", body);
        PrintWriter out = spec.commandLine().getOut();
        String id = d.path("id").asText();
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        String last = "";
        while (!noWait && isSettling(d.path("state").asText()) && System.nanoTime() < deadline) {
            if (!client.json && !d.path("state").asText().equals(last)) {
                last = d.path("state").asText();
                spec.commandLine().getErr().println("  " + id + ": " + last + "...");
                spec.commandLine().getErr().flush();
            }
            Thread.sleep(250); // a person is waiting on a load of seconds to minutes; polling is plenty
            d = http.get("/api/v1/deployments/" + id);
        }
        if (client.json) {
            ModelsCommand.printJson(out, d);
        } else {
            out.printf("Deployment %s of %s:%d is %s%s%n", id, d.path("model").asText(), d.path("version").asInt(),
                    d.path("state").asText(), d.path("reason").isNull() ? "" : ": " + d.path("reason").asText());
            for (JsonNode p : d.path("placements")) {
                out.printf("  replica %d: %s%n", p.path("replica").asInt(), p.path("device").asText().equals("gpu")
                        ? p.path("gpuLayers").asText() + " layers on GPU(s) " + p.path("gpus") : "CPU");
            }
            out.flush();
        }
        return "failed".equals(d.path("state").asText()) ? 1 : 0;
    }

    private static boolean isSettling(String state) {
        return "pending".equals(state) || "loading".equals(state);
    }
}
