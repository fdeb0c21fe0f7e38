package ai.factory.engine.llama;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The kept CPU thread pool, made through the CPU backend the natives load at run time. */
class CpuThreadpoolTest {

    @Test
    void theCpuBackendMakesAPoolOfTheAskedThreadsAndFreesIt() {
        LlamaLibrary llama = LlamaTestSupport.runtime().library();
        CpuThreadpool pool = CpuThreadpool.create(llama, 2);
        assertThat(pool).as("the prebuilt natives' CPU backend exports ggml_threadpool_new").isNotNull();
        assertThat(pool.handle()).isNotEqualTo(MemorySegment.NULL);
        pool.close();
        pool.close(); // a second close does nothing
    }

    @Test
    void threadpoolParamsInitFillsGgmlsDefaults() {
        LlamaLibrary llama = LlamaTestSupport.runtime().library();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(LlamaLayouts.THREADPOOL_PARAMS);
            params.fill((byte) 0x7f);
            llama.threadpoolParamsInit(params, 3);
            long nThreads = LlamaLayouts.THREADPOOL_PARAMS.byteOffset(groupElement("n_threads"));
            long poll = LlamaLayouts.THREADPOOL_PARAMS.byteOffset(groupElement("poll"));
            long paused = LlamaLayouts.THREADPOOL_PARAMS.byteOffset(groupElement("paused"));
            assertThat(params.get(JAVA_INT, nThreads)).isEqualTo(3);
            assertThat(params.get(JAVA_INT, poll)).isEqualTo(50);
            assertThat(params.get(JAVA_BOOLEAN, paused)).isFalse();
            assertThat(params.get(JAVA_BOOLEAN, 0)).as("no CPU mask").isFalse();
        }
    }
}
