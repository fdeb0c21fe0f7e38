package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LlamaEngineOptionsTest {
    @Test
    void defaultsServeFourSequencesOfFourThousandTokensOnEveryProcessor() {
        LlamaEngineOptions defaults = LlamaEngineOptions.defaults();

        assertThat(defaults.contextPerSequence()).isEqualTo(4096);
        assertThat(defaults.parallel()).isEqualTo(4);
        assertThat(defaults.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(defaults.batchSize()).isEqualTo(512);
        assertThat(defaults.microBatchSize()).isEqualTo(512);
        assertThat(defaults.queueCapacity()).isEqualTo(64);
        assertThat(defaults.stepTokens()).as("measured").isEqualTo(LlamaEngineOptions.AUTO_STEP_TOKENS);
        assertThat(defaults.cacheType()).isEqualTo(KvCacheType.F16);
        assertThat(defaults.sharePrefixes()).isTrue();
    }

    @Test
    void withersChangeOneSettingEach() {
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(1024).withParallel(8)
                .withThreads(3).withBatch(256, 128).withStepTokens(64).withQueueCapacity(5);

        assertThat(options).isEqualTo(new LlamaEngineOptions(1024, 8, 3, 256, 128, 5, 64));
        assertThat(options.withCacheType(KvCacheType.Q4_0).withPrefixCache(2)).isEqualTo(new LlamaEngineOptions(
                1024, 8, 3, 256, 128, 5, 64, KvCacheType.Q4_0, true, 2, GpuOffload.CPU));
        assertThat(options.withPrefixCache(2).sequences()).isEqualTo(10);
    }

    @Test
    void refusesSettingsThatCannotWork() {
        LlamaEngineOptions defaults = LlamaEngineOptions.defaults();
        assertThatThrownBy(() -> defaults.withContextPerSequence(1)).hasMessageContaining("contextPerSequence");
        assertThatThrownBy(() -> defaults.withParallel(0)).hasMessageContaining("parallel");
        assertThatThrownBy(() -> defaults.withParallel(600)).hasMessageContaining("batchSize (512) must be at least parallel (600)");
        assertThatThrownBy(() -> defaults.withBatch(512, 1024)).hasMessageContaining("microBatchSize");
        assertThatThrownBy(() -> defaults.withStepTokens(1024)).hasMessageContaining("stepTokens must be between 0 (auto) and batchSize (512)");
        assertThatThrownBy(() -> defaults.withStepTokens(-1)).hasMessageContaining("stepTokens");
        assertThatThrownBy(() -> defaults.withPrefixCache(-1)).hasMessageContaining("prefixCache");
        assertThatThrownBy(() -> defaults.withSharePrefixes(false).withPrefixCache(1))
                .hasMessageContaining("a prefix cache needs sharePrefixes");
        assertThatThrownBy(() -> defaults.withQueueCapacity(0)).hasMessageContaining("queueCapacity");
        assertThatThrownBy(() -> defaults.withThreads(0)).hasMessageContaining("threads");
    }

    @Test
    void cacheTypesParseAsDeploymentsNameThem() {
        assertThat(KvCacheType.parse(" Q8_0")).isEqualTo(KvCacheType.Q8_0);
        assertThat(KvCacheType.Q4_0.id()).isEqualTo("q4_0");
        assertThatThrownBy(() -> KvCacheType.parse("q5_1")).hasMessageContaining("use f16, q8_0 or q4_0");
    }
}
