package ai.factory.engine.llama;

import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Rough generation throughput of the tiny model at 1 and 4 slots; not a test, so off unless asked for:
 * {@code mvn test -Dtest=LlamaThroughputBenchmark -Dfactory.llama.bench=true}. Prints tokens per second.
 */
@EnabledIfSystemProperty(named = "factory.llama.bench", matches = "true")
class LlamaThroughputBenchmark {
    private static final int TOKENS = 256;

    @Test
    void measuresTokensPerSecondAtOneAndFourSlots() throws Exception {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        int threads = Integer.getInteger("factory.llama.bench.threads", Runtime.getRuntime().availableProcessors());
        for (int parallel : new int[] {1, 4}) {
            LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(1024)
                    .withParallel(parallel).withThreads(threads);
            try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options)) {
                round(engine, parallel * 4); // warm-up: JIT and llama.cpp's graph caches
                double best = 0;
                for (int i = 0; i < 3; i++) {
                    best = Math.max(best, round(engine, parallel * 4));
                }
                System.out.printf("llama tiny model: parallel %d, %d threads: %.0f generated tokens/s%n", parallel, threads, best);
            }
        }
    }

    /** Runs {@code requests} generations at once; returns generated tokens per second. */
    private static double round(LlamaEngine engine, int requests) throws InterruptedException {
        long start = System.nanoTime();
        List<Generation> generations = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            int[] prompt = engine.tokenize("Benchmark request " + i, true, false);
            generations.add(engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, TOKENS, List.of(), true, false, 0)));
        }
        long tokens = 0;
        for (Generation generation : generations) {
            while (true) {
                TokenEvent event = generation.next(Duration.ofMinutes(1));
                if (event instanceof TokenEvent.Done done) {
                    tokens += done.completionTokens();
                    break;
                }
            }
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
    }
}
