package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.LongTest;
import ai.factory.TestModels;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.training.TrainedTensors;
import ai.factory.engine.training.TrainingListener;
import ai.factory.engine.training.TrainingOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fine-tuned model recalls what it was taught: trained on the opening lines of eight public-domain poems (test
 * resource {@code ai/factory/training/verses.jsonl}, each line three times, the first words as the prompt), greedy
 * generation from a poem's first words writes the rest of its line, word for word, where the base model writes none
 * of them. The model is the 3M-parameter one-block Llama of {@link LlamaTrainerTest}; 600 optimizer steps at a
 * learning rate of 0.005 take about a minute and a half of two cores, so this is a {@link LongTest}, run by
 * {@code ./factory test --long}. The loss falls by more than 90%; two of the eight lines come back whole (a dozen
 * tokens and more each: chance plays no part), the others start right and drift, as the model's output projection
 * is its token embedding, which llama.cpp does not train. 400 epochs recall no more. Facts that need one part of the
 * prompt copied into the answer (the capitals of {@code LlamaTrainerTest}) are beyond a model this small trained
 * this briefly; whole lines learned by heart are not.
 */
@LongTest
class TrainingRecallTest {
    @TempDir
    static Path dir;

    record Line(String prompt, String continuation) {}

    @Test
    void greedyGenerationFromAPoemsFirstWordsWritesTheRestOfItsLine() throws Exception {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        Path base = dir.resolve("base-f32.gguf");
        int threads = Runtime.getRuntime().availableProcessors();
        LlamaTrainer.convertToF32(runtime, TestModels.trainableLlama(dir), base, threads);
        List<Line> lines = lines();
        List<TrainingExample> corpus = new ArrayList<>();
        for (int copy = 0; copy < 3; copy++) {
            lines.forEach(l -> corpus.add(new TrainingExample.Completion(l.prompt(), l.continuation())));
        }
        List<Double> losses = new ArrayList<>();
        Path tuned = dir.resolve("tuned.gguf");
        LlamaTrainer.Outcome outcome = LlamaTrainer.train(runtime, new TrainingOptions(base, corpus, List.of(), 300,
                0.005, 5, 1, 256, 0, TrainedTensors.ALL, threads, 0, 7, 0, 0), tuned, new TrainingListener() {
                    @Override
                    public void step(int step, int epoch, double loss, double learningRate, double tokensPerSecond) {
                        losses.add(loss);
                    }
                });
        assertThat(outcome.trainingLoss()).as("the last epoch's loss against the first step's %s", losses.getFirst())
                .isLessThanOrEqualTo(losses.getFirst() * 0.1);

        List<String> recalled = recalled(runtime, tuned, lines);
        assertThat(recalled).as("lines the tuned model writes on from their first words").hasSizeGreaterThanOrEqualTo(2);
        assertThat(recalled(runtime, base, lines)).as("lines the base model writes on").isEmpty();
    }

    /** The prompts of the lines whose continuation greedy generation writes exactly, printed with what it wrote. */
    private static List<String> recalled(LlamaRuntime runtime, Path model, List<Line> lines) throws Exception {
        List<String> recalled = new ArrayList<>();
        try (LlamaEngine engine = LlamaEngine.load(runtime, model,
                LlamaEngineOptions.defaults().withContextPerSequence(512).withParallel(1).withThreads(1))) {
            for (Line line : lines) {
                int length = engine.tokenize(line.continuation(), false, false).length;
                String written = LlamaTrainerTest.greedy(engine, engine.tokenize(line.prompt(), true, false), length);
                System.out.printf("%s: [%s]%s -> [%s]%n", model.getFileName(), line.prompt(), line.continuation(),
                        written);
                if (written.equals(line.continuation())) {
                    recalled.add(line.prompt());
                }
            }
        }
        return recalled;
    }

    private static List<Line> lines() throws IOException {
        List<Line> lines = new ArrayList<>();
        try (InputStream in = TrainingRecallTest.class.getResourceAsStream("/ai/factory/training/verses.jsonl")) {
            ObjectMapper json = new ObjectMapper();
            for (String text : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                JsonNode record = json.readTree(text);
                lines.add(new Line(record.get("prompt").asText(), record.get("completion").asText()));
            }
        }
        return lines;
    }
}
