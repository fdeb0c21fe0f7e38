package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.TokenEvent.Done;
import ai.factory.engine.TokenEvent.Token;
import ai.factory.models.synth.ModelSynthesizer;
import ai.factory.models.synth.SynthOptions;
import ai.factory.models.synth.SynthQuantization;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Synthetic models are models llama.cpp loads and runs, in every quantization they come in. */
class SynthesizedModelLoadTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SynthQuantization.class)
    void llamaCppLoadsTheModelAndGenerates(SynthQuantization quantization) throws Exception {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        Path model = dir.resolve("synth.gguf");
        ModelSynthesizer.synthesize(new SynthOptions(10_000_000, quantization, TestModels.tinyLlama(), 1024, 11), model);

        try (LlamaEngine engine = LlamaEngine.load(runtime, model,
                LlamaEngineOptions.defaults().withContextPerSequence(256).withParallel(1).withThreads(2))) {
            assertThat(engine.info().vocabularySize()).isEqualTo(32000);
            int[] prompt = engine.tokenize("The factory", true, false);
            Generation generation = engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 8, List.of(), true, false, 0));
            int tokens = 0;
            while (true) {
                TokenEvent event = generation.next(Duration.ofSeconds(30));
                assertThat(event).as("an event within 30 s").isNotNull();
                if (event instanceof Token) {
                    tokens++;
                } else if (event instanceof Done done) {
                    assertThat(done.error()).isNull();
                    assertThat(done.completionTokens()).isEqualTo(8);
                    break;
                }
            }
            assertThat(tokens).isEqualTo(8);
        }
    }
}
