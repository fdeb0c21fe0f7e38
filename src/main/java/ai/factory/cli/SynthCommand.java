package ai.factory.cli;

import ai.factory.Json;
import ai.factory.models.synth.ModelSynthesizer;
import ai.factory.models.synth.ParameterCount;
import ai.factory.models.synth.SynthOptions;
import ai.factory.models.synth.SynthQuantization;
import ai.factory.models.synth.SynthesizedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code factory models synth}: a synthetic model of realistic size, for benchmarks. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a llama-architecture GGUF model of a given size with random weights (no server needed).",
                "The tokenizer comes from another GGUF model, so prompts tokenize as for that model; output is gibberish.",
                "For benchmarks: realistic shapes (Llama 3.2 widths, grouped-query attention) without downloading a model."})
final class SynthCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--arch", defaultValue = "llama", description = "Architecture; only llama (default).")
    String arch;

    @Option(names = "--params", required = true, description = "Parameter target, e.g. 10M, 0.5B, 1B, 3B.")
    String params;

    @Option(names = "--quant", defaultValue = "Q8_0", description = "Q8_0 (default), Q4_0 or F16.")
    String quant;

    @Option(names = "--tokenizer", required = true, paramLabel = "FROM.gguf", description = "A GGUF model whose tokenizer to copy.")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "Where to write the model.")
    Path out;

    @Option(names = "--ctx", defaultValue = "4096", description = "Context length the model declares (default 4096).")
    int context;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights (default 42).")
    long seed;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        if (!arch.equals("llama")) {
            throw new ParameterException(spec.commandLine(), "unknown architecture '%s'; only llama can be synthesized".formatted(arch));
        }
        SynthOptions options;
        try {
            options = new SynthOptions(ParameterCount.parse(params), SynthQuantization.parse(quant), tokenizer, context, seed);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        long start = System.nanoTime();
        SynthesizedModel model = ModelSynthesizer.synthesize(options, out);
        double seconds = (System.nanoTime() - start) / 1e9;
        PrintWriter stdout = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("file", model.file().toString());
            result.put("parameters", model.parameters());
            result.put("quantization", model.quantization().name());
            result.put("sizeBytes", model.sizeBytes());
            result.put("shape", model.shape());
            result.put("seconds", seconds);
            ModelsCommand.printJson(stdout, Json.mapper().valueToTree(result));
        } else {
            var s = model.shape();
            stdout.printf("Wrote %s: llama, %s parameters, %s, %.1f MiB in %.1f s%n", model.file(), ParameterCount.format(model.parameters()),
                    model.quantization(), model.sizeBytes() / 1048576.0, seconds);
            stdout.printf("  n_embd %d, n_layer %d, n_head %d, n_head_kv %d, n_ff %d, n_vocab %d, tied output%n",
                    s.embedding(), s.layers(), s.heads(), s.kvHeads(), s.feedForward(), s.vocabulary());
            stdout.flush();
        }
        return 0;
    }
}
