package ai.factory.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.models.ModelFile;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelVersion;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainingMemoryTest {
    /** Llama 3.2 1B's shape, F16 weights. */
    private static final ModelVersion ONE_B = new ModelVersion(ModelName.parse("acme/llama-1b"), 1, ModelFormat.GGUF,
            Map.of("parameterCount", 1_235_814_400L, "blockCount", 16, "embeddingLength", 2048, "headCount", 32,
                    "headCountKv", 8, "vocabularySize", 128_256),
            List.of(new ModelFile("m.gguf", "a".repeat(64), 2_471_000_000L)), Instant.EPOCH, "admin", "upload:m.gguf");

    @Test
    void countsWeightsOptimizerStateKvCacheAndActivations() {
        TrainingMemory all = TrainingMemory.estimate(ONE_B, Hyperparameters.DEFAULTS);
        assertThat(all.weights()).isEqualTo(3 * 4 * 1_235_814_400L);
        assertThat(all.optimizer()).as("gradients and two moments of every weight").isEqualTo(3 * 4 * 1_235_814_400L);
        assertThat(all.kvCache()).as("F32, one 512-token window").isEqualTo(16L * 512 * 8 * 64 * 2 * 4);
        assertThat(all.compute()).isPositive();
        assertThat(all.total()).isEqualTo(all.baseFile() + all.weights() + all.optimizer() + all.kvCache()
                + all.compute());

        TrainingMemory lastTwo = TrainingMemory.estimate(ONE_B, Hyperparameters.DEFAULTS.with(Map.of("trainLayers", "2")));
        assertThat(lastTwo.optimizer()).as("an eighth of the blocks, and the head (a sixth of this model)")
                .isEqualTo((long) (3 * (4 * 1_235_814_400L / 8.0 + 4L * 128_256 * 2048)));
    }

    @Test
    void refusesWithTheNumbersWhenItDoesNotFit() {
        TrainingMemory estimate = TrainingMemory.estimate(ONE_B, Hyperparameters.DEFAULTS);
        estimate.requireWithin(estimate.total(), "fine-tuning acme/llama-1b:1");
        assertThatThrownBy(() -> estimate.requireWithin(8L << 30, "fine-tuning acme/llama-1b:1"))
                .isInstanceOf(FactoryException.class)
                .hasMessageContaining("fine-tuning acme/llama-1b:1 needs about")
                .hasMessageContaining("at most 8192 MiB can be held here")
                .hasMessageContaining("trainLayers");
    }
}
