package ai.factory.training;

import static org.assertj.core.api.Assertions.assertThatCode;
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

/** The measured limits of llama.cpp's training graphs, as the budget reproduces them. */
class GraphBudgetTest {
    private static ModelVersion llama(int blocks) {
        return new ModelVersion(ModelName.parse("acme/m" + blocks), 1, ModelFormat.GGUF,
                Map.of("blockCount", blocks, "tensorCount", 9 * blocks + 2), List.of(new ModelFile("m.gguf",
                "a".repeat(64), 1)), Instant.EPOCH, "admin", "upload:m.gguf");
    }

    private static Hyperparameters layers(int n) {
        return Hyperparameters.DEFAULTS.with(Map.of("trainLayers", String.valueOf(n)));
    }

    @Test
    void aSevenBlockModelTrainsWholeAndAnEightBlockOneDoesNot() {
        assertThatCode(() -> GraphBudget.require(llama(7), Hyperparameters.DEFAULTS)).doesNotThrowAnyException();
        assertThatThrownBy(() -> GraphBudget.require(llama(8), Hyperparameters.DEFAULTS))
                .isInstanceOf(FactoryException.class)
                .hasMessageContaining("training 8 of its 8 blocks needs about")
                .hasMessageContaining("train at most its last 6 blocks (trainLayers 6)");
        assertThatCode(() -> GraphBudget.require(llama(8), layers(6))).doesNotThrowAnyException();
    }

    @Test
    void aTwentyEightBlockModelTrainsItsLastEightBlocksButNotTwelve() {
        assertThatCode(() -> GraphBudget.require(llama(28), layers(8))).doesNotThrowAnyException();
        assertThatThrownBy(() -> GraphBudget.require(llama(28), layers(12)))
                .isInstanceOf(FactoryException.class).hasMessageContaining("trainLayers");
        assertThatThrownBy(() -> GraphBudget.require(llama(28), Hyperparameters.DEFAULTS))
                .isInstanceOf(FactoryException.class);
    }
}
