package ai.factory.engine.llama;

import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Generation throughput of a whole {@link LlamaEngine}, llama.cpp included: one operation is a round of
 * {@code 4 × parallel} greedy requests submitted at once, each generating {@code tokens} tokens (end of sequence
 * ignored), read until done. The secondary result {@code round:generated} is generated tokens per second, the figure
 * to compare between 1 and 4 slots. Needs the llama.cpp natives ({@code ./factory jmh} passes their folder as
 * {@code -Dfactory.llama.lib}, and the forks inherit it) and a GGUF model, by default the tiny test model at
 * {@code ../shared/models/llama-2-tiny-random.gguf} relative to the working directory ({@code -p model=FILE} picks
 * another).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
public class LlamaThroughputBenchmark {
    @Param("../shared/models/llama-2-tiny-random.gguf")
    String model;

    @Param({"1", "4"})
    int parallel;

    /** CPU threads for decoding; 0 for one per available processor, as the engine's defaults have it. */
    @Param("0")
    int threads;

    @Param("256")
    int tokens;

    private LlamaEngine engine;

    /** Generated tokens, reported per second beside the rounds. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Tokens {
        public long generated;

        @Setup(Level.Iteration)
        public void reset() {
            generated = 0;
        }
    }

    @Setup(Level.Trial)
    public void load() {
        Path gguf = Path.of(model);
        if (!Files.isRegularFile(gguf)) {
            throw new IllegalStateException("no model at " + gguf.toAbsolutePath()
                    + "; run from the repository root or pass -p model=FILE");
        }
        LlamaRuntime runtime = LlamaRuntime.load();
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(1024).withParallel(parallel);
        if (threads > 0) {
            options = options.withThreads(threads);
        }
        engine = LlamaEngine.load(runtime, gguf, options);
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
    }

    /** One round of {@code 4 × parallel} requests at once; returns the tokens generated. */
    @Benchmark
    public long round(Tokens counted) throws InterruptedException {
        List<Generation> generations = new ArrayList<>();
        for (int i = 0; i < 4 * parallel; i++) {
            int[] prompt = engine.tokenize("Benchmark request " + i, true, false);
            generations.add(engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, tokens, List.of(), true,
                    false, 0)));
        }
        long generated = 0;
        for (Generation generation : generations) {
            generated += completionTokens(generation);
        }
        counted.generated += generated;
        return generated;
    }

    private static long completionTokens(Generation generation) throws InterruptedException {
        while (true) {
            switch (generation.next(Duration.ofMinutes(1))) {
                case TokenEvent.Token _ -> { }
                case TokenEvent.Done done -> {
                    return done.completionTokens();
                }
                case null -> throw new IllegalStateException("no token within a minute");
            }
        }
    }
}
