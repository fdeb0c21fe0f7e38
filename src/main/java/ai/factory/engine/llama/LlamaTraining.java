package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Hand-written bindings for the training half of the pinned {@code llama.h} and {@code ggml-opt.h}: the optimizer
 * context on a {@code llama_context}, ggml-opt's datasets and results, saving weights, and converting a model's
 * tensor types. Like {@link LlamaLibrary}, each method mirrors one C function; kept apart because serving never
 * calls them.
 */
final class LlamaTraining {
    /** {@code GGML_TYPE_F32}. */
    static final int GGML_TYPE_F32 = 0;
    /** {@code GGML_TYPE_I32}. */
    static final int GGML_TYPE_I32 = 26;
    /** {@code GGML_OPT_OPTIMIZER_TYPE_ADAMW}. */
    static final int OPTIMIZER_ADAMW = 0;
    /** {@code LLAMA_FTYPE_ALL_F32}. */
    static final int FTYPE_ALL_F32 = 0;

    private final SymbolLookup symbols;
    private final MethodHandle optInit;
    private final MethodHandle optEpoch;
    private final MethodHandle modelSaveToFile;
    private final MethodHandle modelQuantize;
    private final MethodHandle modelQuantizeDefaultParams;
    private final MethodHandle modelNLayer;
    private final MethodHandle modelNCtxTrain;
    private final MethodHandle modelFtype;
    private final MethodHandle datasetInit;
    private final MethodHandle datasetFree;
    private final MethodHandle datasetData;
    private final MethodHandle datasetLabels;
    private final MethodHandle getData;
    private final MethodHandle getName;
    private final MethodHandle resultInit;
    private final MethodHandle resultFree;
    private final MethodHandle resultReset;
    private final MethodHandle resultLoss;

    LlamaTraining(SymbolLookup symbols) {
        this.symbols = symbols;
        optInit = bind("llama_opt_init", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, LlamaLayouts.OPT_PARAMS));
        optEpoch = bind("llama_opt_epoch",
                FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
        modelSaveToFile = bind("llama_model_save_to_file", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        modelQuantize = bind("llama_model_quantize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        modelQuantizeDefaultParams = bind("llama_model_quantize_default_params",
                FunctionDescriptor.of(LlamaLayouts.QUANTIZE_PARAMS));
        modelNLayer = bind("llama_model_n_layer", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelNCtxTrain = bind("llama_model_n_ctx_train", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelFtype = bind("llama_model_ftype", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        datasetInit = bind("ggml_opt_dataset_init",
                FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        datasetFree = bind("ggml_opt_dataset_free", FunctionDescriptor.ofVoid(ADDRESS));
        datasetData = bind("ggml_opt_dataset_data", FunctionDescriptor.of(ADDRESS, ADDRESS));
        datasetLabels = bind("ggml_opt_dataset_labels", FunctionDescriptor.of(ADDRESS, ADDRESS));
        getData = bind("ggml_get_data", FunctionDescriptor.of(ADDRESS, ADDRESS));
        getName = bind("ggml_get_name", FunctionDescriptor.of(ADDRESS, ADDRESS));
        resultInit = bind("ggml_opt_result_init", FunctionDescriptor.of(ADDRESS));
        resultFree = bind("ggml_opt_result_free", FunctionDescriptor.ofVoid(ADDRESS));
        resultReset = bind("ggml_opt_result_reset", FunctionDescriptor.ofVoid(ADDRESS));
        resultLoss = bind("ggml_opt_result_loss", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    }

    private MethodHandle bind(String name, FunctionDescriptor descriptor) {
        return LlamaLibrary.bind(symbols, name, descriptor);
    }

    private static RuntimeException rethrow(Throwable t) {
        return LlamaLibrary.rethrow(t);
    }

    void optInit(MemorySegment context, MemorySegment model, MemorySegment params) {
        try {
            optInit.invokeExact(context, model, params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void optEpoch(MemorySegment context, MemorySegment dataset, MemorySegment resultTrain, MemorySegment resultEval,
                  long idataSplit) {
        try {
            optEpoch.invokeExact(context, dataset, resultTrain, resultEval, idataSplit, MemorySegment.NULL,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void modelSaveToFile(MemorySegment model, MemorySegment path) {
        try {
            modelSaveToFile.invokeExact(model, path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int modelQuantize(MemorySegment input, MemorySegment output, MemorySegment params) {
        try {
            return (int) modelQuantize.invokeExact(input, output, params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment modelQuantizeDefaultParams(SegmentAllocator allocator) {
        try {
            return (MemorySegment) modelQuantizeDefaultParams.invokeExact(allocator);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int modelNLayer(MemorySegment model) {
        try {
            return (int) modelNLayer.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int modelNCtxTrain(MemorySegment model) {
        try {
            return (int) modelNCtxTrain.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int modelFtype(MemorySegment model) {
        try {
            return (int) modelFtype.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment datasetInit(int typeData, int typeLabel, long neDatapoint, long neLabel, long ndata, long ndataShard) {
        try {
            return (MemorySegment) datasetInit.invokeExact(typeData, typeLabel, neDatapoint, neLabel, ndata, ndataShard);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void datasetFree(MemorySegment dataset) {
        try {
            datasetFree.invokeExact(dataset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment datasetData(MemorySegment dataset) {
        try {
            return (MemorySegment) datasetData.invokeExact(dataset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment datasetLabels(MemorySegment dataset) {
        try {
            return (MemorySegment) datasetLabels.invokeExact(dataset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment getData(MemorySegment tensor) {
        try {
            return (MemorySegment) getData.invokeExact(tensor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment getName(MemorySegment tensor) {
        try {
            return (MemorySegment) getName.invokeExact(tensor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment resultInit() {
        try {
            return (MemorySegment) resultInit.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void resultFree(MemorySegment result) {
        try {
            resultFree.invokeExact(result);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void resultReset(MemorySegment result) {
        try {
            resultReset.invokeExact(result);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void resultLoss(MemorySegment result, MemorySegment loss, MemorySegment uncertainty) {
        try {
            resultLoss.invokeExact(result, loss, uncertainty);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
