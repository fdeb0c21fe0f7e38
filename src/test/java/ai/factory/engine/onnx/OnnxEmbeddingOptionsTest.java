package ai.factory.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class OnnxEmbeddingOptionsTest {
    @Test
    void defaultsToOneThreadPerProcessorTheBertPositionLimitAndOneInputPerRun() {
        OnnxEmbeddingOptions defaults = OnnxEmbeddingOptions.defaults();

        assertThat(defaults.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(defaults.maxInputTokens()).isEqualTo(512);
        assertThat(defaults.maxBatchInputs()).isEqualTo(1);
        assertThat(defaults.maxBatchTokens()).isEqualTo(4096);
        assertThat(defaults.nativeCacheDir()).isNull();
    }

    @Test
    void rejectsARunTooSmallForTheLongestInput() {
        assertThatThrownBy(() -> OnnxEmbeddingOptions.defaults().withBatching(4, 256))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchTokens (256) must be at least maxInputTokens (512)");
    }

    @Test
    void rejectsFewerThanOneThread() {
        assertThatThrownBy(() -> OnnxEmbeddingOptions.defaults().withThreads(0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
