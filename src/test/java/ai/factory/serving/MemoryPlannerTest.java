package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.engine.llama.KvCacheType;
import ai.factory.models.ModelFile;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelVersion;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The memory check weighs a deployment's KV cache in the element type it asked for, for its slots and prefix cache. */
class MemoryPlannerTest {
    private static final long MIB = 1L << 20;
    /** 32 layers, 8 KV heads of 128: 256 KiB of K and V a token in f16. */
    private static final ModelVersion MODEL = new ModelVersion(ModelName.parse("acme/eight-b"), 1, ModelFormat.GGUF,
            Map.of("blockCount", 32, "embeddingLength", 4096, "headCount", 32, "headCountKv", 8,
                    "vocabularySize", 128_256, "contextLength", 131_072),
            List.of(new ModelFile("model.gguf", "0".repeat(64), 4096 * MIB)), Instant.EPOCH, "admin", "test");

    private static DeploymentSpec spec(KvCacheType cacheType) {
        return new DeploymentSpec(1, 4, 8192, 0, 64, 0, DeploymentSpec.STEP_TOKENS_AUTO, cacheType);
    }

    @Test
    void quantizedCachesTakeTheirShareOfF16sKvMemory() {
        MemoryPlanner planner = new MemoryPlanner(() -> Long.MAX_VALUE);
        long f16 = planner.estimate(MODEL, spec(KvCacheType.F16)).kvCache();

        assertThat(f16).isEqualTo(32L * 4 * 8192 * 8 * 128 * 2 * 2);
        assertThat(planner.estimate(MODEL, spec(KvCacheType.Q8_0)).kvCache()).isEqualTo(f16 * 17 / 32);
        assertThat(planner.estimate(MODEL, spec(KvCacheType.Q4_0)).kvCache()).isEqualTo(f16 * 9 / 32);
        assertThat(planner.estimate(MODEL, spec(KvCacheType.Q4_0)).compute())
                .isEqualTo(planner.estimate(MODEL, spec(KvCacheType.F16)).compute());
    }

    @Test
    void aPrefixCacheAddsASlotsKvMemoryPerSequence() {
        MemoryPlanner planner = new MemoryPlanner(() -> Long.MAX_VALUE);
        DeploymentSpec cached = new DeploymentSpec(1, 4, 8192, 0, 64, 0, DeploymentSpec.STEP_TOKENS_AUTO,
                KvCacheType.F16, 4);

        assertThat(planner.estimate(MODEL, cached).kvCache())
                .isEqualTo(2 * planner.estimate(MODEL, spec(KvCacheType.F16)).kvCache())
                .isEqualTo(32L * 8 * 8192 * 8 * 128 * 2 * 2);
        assertThat(planner.estimate(MODEL, cached).weights()).isEqualTo(4096 * MIB);
    }

    @Test
    void aDeploymentThatFitsOnlyWithoutItsPrefixCacheIsRefusedWithTheSequencesCounted() {
        MemoryPlanner probe = new MemoryPlanner(() -> Long.MAX_VALUE);
        MemoryPlanner planner = new MemoryPlanner(() -> probe.estimate(MODEL, spec(KvCacheType.F16)).total());
        DeploymentSpec cached = new DeploymentSpec(1, 4, 8192, 0, 64, 0, DeploymentSpec.STEP_TOKENS_AUTO,
                KvCacheType.F16, 2);

        assertThat(planner.check("dep-1", MODEL, spec(KvCacheType.F16)).kvCache()).isEqualTo(4096 * MIB);
        assertThatThrownBy(() -> planner.check("dep-1", MODEL, cached)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("KV cache 6144.0 MiB for 6×8192 tokens")
                .hasMessageContaining("lower the context, parallel, prefix cache or replicas");
    }

    @Test
    void aDeploymentThatFitsOnlyWithAQuantizedCacheIsAdmittedWithIt() {
        MemoryPlanner probe = new MemoryPlanner(() -> Long.MAX_VALUE);
        long q4 = probe.estimate(MODEL, spec(KvCacheType.Q4_0)).total();
        MemoryPlanner planner = new MemoryPlanner(() -> q4);

        assertThat(planner.check("dep-1", MODEL, spec(KvCacheType.Q4_0)).total()).isEqualTo(q4);
        assertThatThrownBy(() -> planner.check("dep-1", MODEL, spec(KvCacheType.F16))).isInstanceOf(FactoryException.class)
                .hasMessageContaining("does not fit").hasMessageContaining("KV cache 4096.0 MiB");
    }
}
