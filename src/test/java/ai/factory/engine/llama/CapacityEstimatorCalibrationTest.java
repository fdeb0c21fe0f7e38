package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.factory.TestModels;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.fleet.capacity.Footprint;
import ai.factory.models.gguf.GgufReader;
import ai.factory.models.synth.ModelSynthesizer;
import ai.factory.models.synth.SynthOptions;
import ai.factory.models.synth.SynthQuantization;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The capacity estimator against what llama.cpp itself reports when it loads a model: its "model buffer size",
 * "KV buffer size" and "compute buffer size" log lines, each within 10%.
 */
class CapacityEstimatorCalibrationTest {
    private static final Pattern BUFFER = Pattern.compile("CPU(?:_Mapped)? (model|KV|compute) buffer size =\\s*([0-9.]+) MiB");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} ctx {1} × {2}")
    @CsvSource({"tiny, 256, 1", "tiny, 1024, 4", "synth10M, 256, 1", "synth10M, 2048, 2"})
    void estimatesMatchWhatLlamaCppAllocates(String model, int context, int parallel) throws Exception {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        Path file = model.equals("tiny") ? TestModels.tinyLlama() : dir.resolve("synth.gguf");
        if (!model.equals("tiny")) {
            ModelSynthesizer.synthesize(new SynthOptions(10_000_000, SynthQuantization.values()[0], TestModels.tinyLlama(), 4096, 11), file);
        }
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        double modelMib = 0;
        double kvMib = 0;
        double computeMib = 0;
        try (AutoCloseable tap = LlamaLog.tap(lines::add);
             LlamaEngine engine = LlamaEngine.load(runtime, file,
                     LlamaEngineOptions.defaults().withContextPerSequence(context).withParallel(parallel).withThreads(1))) {
            // loaded: the buffers are allocated
        }
        for (String line : List.copyOf(lines)) {
            Matcher m = BUFFER.matcher(line);
            if (m.find()) {
                double v = Double.parseDouble(m.group(2));
                switch (m.group(1)) {
                    case "model" -> modelMib += v;
                    case "KV" -> kvMib += v;
                    default -> computeMib += v;
                }
            }
        }
        Footprint f = CapacityEstimator.footprint(GgufReader.read(file), CapacityEstimator.Request.of(context, parallel, CacheType.F16));
        assertThat(f.weights() / 1048576.0).isCloseTo(modelMib, within(tolerance(modelMib)));
        assertThat(f.kvCache() / 1048576.0).isCloseTo(kvMib, within(tolerance(kvMib)));
        assertThat(f.compute() / 1048576.0).isCloseTo(computeMib, within(tolerance(computeMib)));
    }

    /** 10%, or the rounding of llama.cpp's two printed decimals for buffers too small for 10% to mean anything. */
    private static double tolerance(double mib) {
        return Math.max(mib * 0.10, 0.0051);
    }
}
