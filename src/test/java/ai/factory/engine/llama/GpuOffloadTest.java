package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * GPU offload options, as written into llama.cpp's own {@code llama_model_params}, and what happens when the
 * natives have no GPU backend (this machine's: the CPU build). A GPU load itself is checked only where a GPU and
 * the CUDA natives are present; see docs/gpu.md.
 */
class GpuOffloadTest {
    @Test
    void oneDeviceRunsAloneAndSeveralSplitByLayerLeavingTheOthersOut() {
        assertThat(GpuOffload.onDevices(GpuOffload.ALL_LAYERS, List.of(3), List.of(32)))
                .isEqualTo(new GpuOffload(-1, GpuOffload.SplitMode.NONE, 3, List.of()));
        GpuOffload two = GpuOffload.onDevices(20, List.of(1, 4), List.of(12, 8));
        assertThat(two.splitMode()).isEqualTo(GpuOffload.SplitMode.LAYER);
        assertThat(two.mainGpu()).isEqualTo(1);
        assertThat(two.gpuLayers()).isEqualTo(20);
        assertThat(two.tensorSplit()).containsExactly(0f, 12f, 0f, 0f, 8f);
    }

    @Test
    void refusesWhatLlamaCppCouldNotTake() {
        assertThatThrownBy(() -> new GpuOffload(-2, GpuOffload.SplitMode.NONE, 0, List.of()))
                .hasMessageContaining("gpuLayers");
        assertThatThrownBy(() -> new GpuOffload(1, GpuOffload.SplitMode.NONE, 16, List.of()))
                .hasMessageContaining("mainGpu");
        assertThatThrownBy(() -> new GpuOffload(1, GpuOffload.SplitMode.LAYER, 0, java.util.Collections.nCopies(17, 1f)))
                .hasMessageContaining("at most 16");
        assertThatThrownBy(() -> new GpuOffload(1, GpuOffload.SplitMode.LAYER, 0, List.of(1f, Float.NaN)))
                .hasMessageContaining("finite");
        assertThatThrownBy(() -> GpuOffload.onDevices(1, List.of(0, 16), List.of(1, 1)))
                .hasMessageContaining("beyond");
        assertThatThrownBy(() -> GpuOffload.onDevices(1, List.of(), List.of())).hasMessageContaining("no devices");
    }

    @Test
    void theOptionsLandInTheNativeModelParamsAtTheHeadersOffsets() {
        LlamaLibrary llama = LlamaTestSupport.runtime().library();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = llama.modelDefaultParams(arena);
            // llama.cpp's own default offloads every layer; the engine always writes its choice over it.
            assertThat((int) LlamaLayouts.MODEL_N_GPU_LAYERS.get(params)).isEqualTo(-1);

            LlamaModel.apply(GpuOffload.onDevices(24, List.of(0, 2), List.of(10, 14)), params, arena);
            long layersAt = LlamaLayouts.MODEL_PARAMS.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("n_gpu_layers"));
            long splitModeAt = LlamaLayouts.MODEL_PARAMS.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("split_mode"));
            long mainAt = LlamaLayouts.MODEL_PARAMS.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("main_gpu"));
            assertThat(params.get(ValueLayout.JAVA_INT, layersAt)).isEqualTo(24);
            assertThat(params.get(ValueLayout.JAVA_INT, splitModeAt)).isEqualTo(1);
            assertThat(params.get(ValueLayout.JAVA_INT, mainAt)).isEqualTo(0);
            MemorySegment split = ((MemorySegment) LlamaLayouts.MODEL_TENSOR_SPLIT.get(params))
                    .reinterpret(GpuOffload.MAX_DEVICES * Float.BYTES);
            assertThat(split.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(
                    10f, 0f, 14f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            assertThat((MemorySegment) LlamaLayouts.MODEL_DEVICES.get(params)).isEqualTo(MemorySegment.NULL);

            LlamaModel.apply(GpuOffload.CPU, params, arena);
            assertThat((int) LlamaLayouts.MODEL_N_GPU_LAYERS.get(params)).isZero();
            assertThat((int) LlamaLayouts.MODEL_SPLIT_MODE.get(params)).isZero();
            assertThat((MemorySegment) LlamaLayouts.MODEL_TENSOR_SPLIT.get(params)).isEqualTo(MemorySegment.NULL);
        }
        assertThat(llama.maxDevices()).as("GpuOffload.MAX_DEVICES matches llama_max_devices()").isEqualTo(GpuOffload.MAX_DEVICES);
    }

    @Test
    void theCpuNativesSayTheyCannotOffloadAndListTheCpu() {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        org.junit.jupiter.api.Assumptions.assumeFalse(runtime.gpuOffload(), "these natives have a GPU backend");
        assertThat(runtime.offloadSummary()).startsWith("no (");
        assertThat(runtime.devices()).isNotEmpty().allSatisfy(d -> assertThat(d.type().isGpu()).isFalse());
        assertThat(runtime.devices()).anySatisfy(d -> {
            assertThat(d.type()).isEqualTo(BackendDevice.Type.CPU);
            assertThat(d.name()).isNotBlank();
            assertThat(d.gpuNumber()).isEqualTo(-1);
        });
    }

    @Test
    void askingTheCpuNativesForGpuLayersFailsTheLoadAndSaysWhatToDo() {
        LlamaRuntime runtime = LlamaTestSupport.runtime();
        org.junit.jupiter.api.Assumptions.assumeFalse(runtime.gpuOffload(), "these natives have a GPU backend");
        java.nio.file.Path model = TestModels.tinyLlama();
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(256).withParallel(1)
                .withThreads(1).withGpu(GpuOffload.onDevices(8, List.of(0), List.of(8)));
        assertThatThrownBy(() -> LlamaEngine.load(runtime, model, options))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                    assertThat(e.getMessage()).contains("cannot offload 8 layers", "no GPU backend",
                            "FACTORY_LLAMA_VARIANT=cuda", "gpuLayers 0");
                });
        // The same model and options without GPU layers load and answer.
        try (LlamaEngine engine = LlamaEngine.load(runtime, model, options.withGpu(GpuOffload.CPU))) {
            assertThat(engine.info().vocabularySize()).isPositive();
        }
    }
}
