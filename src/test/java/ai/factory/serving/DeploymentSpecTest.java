package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.llama.KvCacheType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class DeploymentSpecTest {
    private static DeploymentSpec withStepTokens(int stepTokens) {
        return new DeploymentSpec(1, 1, 0, 0, 64, DeploymentSpec.GPU_LAYERS_AUTO, stepTokens, KvCacheType.F16);
    }

    @Test
    void stepTokensAreAutomaticAndTheCacheF16UnlessAsked() {
        assertThat(DeploymentSpec.DEFAULT.stepTokens()).isEqualTo(DeploymentSpec.STEP_TOKENS_AUTO).isZero();
        assertThat(DeploymentSpec.DEFAULT.cacheType()).isEqualTo(KvCacheType.F16);
        assertThat(new DeploymentSpec(2, 4, 256, 1, 8, 0)).satisfies(s -> {
            assertThat(s.stepTokens()).isEqualTo(DeploymentSpec.STEP_TOKENS_AUTO);
            assertThat(s.cacheType()).isEqualTo(KvCacheType.F16);
        });
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 32, 512})
    void stepTokensMayBeAutoOrUpToTheEnginesBatch(int stepTokens) {
        assertThat(withStepTokens(stepTokens).stepTokens()).isEqualTo(stepTokens);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 513, 100_000})
    void stepTokensBeyondTheEnginesBatchOrBelowAutoAreRefusedWithTheRange(int stepTokens) {
        assertThatThrownBy(() -> withStepTokens(stepTokens)).isInstanceOfSatisfying(FactoryException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.getMessage())
                    .isEqualTo("'stepTokens' must be \"auto\" or between 1 and 512 tokens a step, not " + stepTokens);
        });
    }

    @Test
    void aCacheTypeIsRequired() {
        assertThatThrownBy(() -> new DeploymentSpec(1, 1, 0, 0, 64, 0, 0, null))
                .isInstanceOf(NullPointerException.class).hasMessage("cacheType is null");
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void theCapacityPlanWeighsTheCacheTypeTheEngineIsGiven(KvCacheType type) {
        DeploymentSpec spec = new DeploymentSpec(1, 1, 0, 0, 64, 0, 0, type);
        assertThat(spec.plannedCacheType().id()).isEqualTo(type.id());
    }

    private static DeploymentSpec withPrefixCache(int parallel, int prefixCache) {
        return new DeploymentSpec(1, parallel, 0, 0, 64, 0, 0, KvCacheType.F16, prefixCache);
    }

    @Test
    void thereIsNoPrefixCacheUnlessAsked() {
        assertThat(DeploymentSpec.DEFAULT.prefixCache()).isZero();
        assertThat(new DeploymentSpec(2, 4, 256, 1, 8, 0, 32, KvCacheType.Q8_0).prefixCache()).isZero();
        assertThat(new DeploymentSpec(2, 4, 256, 1, 8, 0, 32, KvCacheType.Q8_0).sequences()).isEqualTo(4);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4, 256})
    void thePrefixCacheAddsItsSequencesToTheSlots(int prefixCache) {
        DeploymentSpec spec = withPrefixCache(4, prefixCache);
        assertThat(spec.prefixCache()).isEqualTo(prefixCache);
        assertThat(spec.sequences()).isEqualTo(4 + prefixCache);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 257, 100_000})
    void aPrefixCacheBeyondTheEnginesOrNegativeIsRefusedWithTheRange(int prefixCache) {
        assertThatThrownBy(() -> withPrefixCache(1, prefixCache)).isInstanceOfSatisfying(FactoryException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.getMessage())
                    .isEqualTo("'prefixCache' must be between 0 and 256 sequences, not " + prefixCache);
        });
    }
}
