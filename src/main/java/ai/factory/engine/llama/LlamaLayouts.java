package ai.factory.engine.llama;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * The C structs of the pinned {@code llama.h} that cross the boundary, field by field in header order.
 * Element names are the C field names, so {@code LlamaLayoutTest} can compare every offset and size with
 * what the C compiler says for the same header. Padding is spelled out where the C ABI inserts it
 * (x86-64 and aarch64 System V: natural alignment, struct size rounded up to the largest member).
 */
final class LlamaLayouts {
    private LlamaLayouts() {}

    /** {@code struct llama_model_params}. */
    static final StructLayout MODEL_PARAMS = MemoryLayout.structLayout(
            ADDRESS.withName("devices"),
            ADDRESS.withName("tensor_buft_overrides"),
            JAVA_INT.withName("n_gpu_layers"),
            JAVA_INT.withName("split_mode"),
            JAVA_INT.withName("load_mode"),
            JAVA_INT.withName("lazy_mode"),
            JAVA_INT.withName("main_gpu"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("tensor_split"),
            ADDRESS.withName("progress_callback"),
            ADDRESS.withName("progress_callback_user_data"),
            ADDRESS.withName("kv_overrides"),
            JAVA_BOOLEAN.withName("vocab_only"),
            JAVA_BOOLEAN.withName("check_tensors"),
            JAVA_BOOLEAN.withName("use_extra_bufts"),
            JAVA_BOOLEAN.withName("no_host"),
            JAVA_BOOLEAN.withName("no_alloc"),
            JAVA_BOOLEAN.withName("load_mtp"),
            MemoryLayout.paddingLayout(2)).withName("llama_model_params");

    /** {@code struct llama_context_params}. */
    static final StructLayout CONTEXT_PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("n_ctx"),
            JAVA_INT.withName("n_batch"),
            JAVA_INT.withName("n_ubatch"),
            JAVA_INT.withName("n_seq_max"),
            JAVA_INT.withName("n_rs_seq"),
            JAVA_INT.withName("n_outputs_max"),
            JAVA_INT.withName("n_outputs_max_per_seq"),
            JAVA_INT.withName("n_threads"),
            JAVA_INT.withName("n_threads_batch"),
            JAVA_INT.withName("ctx_type"),
            JAVA_INT.withName("rope_scaling_type"),
            JAVA_INT.withName("pooling_type"),
            JAVA_INT.withName("attention_type"),
            JAVA_INT.withName("flash_attn_type"),
            JAVA_FLOAT.withName("rope_freq_base"),
            JAVA_FLOAT.withName("rope_freq_scale"),
            JAVA_FLOAT.withName("yarn_ext_factor"),
            JAVA_FLOAT.withName("yarn_attn_factor"),
            JAVA_FLOAT.withName("yarn_beta_fast"),
            JAVA_FLOAT.withName("yarn_beta_slow"),
            JAVA_INT.withName("yarn_orig_ctx"),
            JAVA_FLOAT.withName("defrag_thold"),
            ADDRESS.withName("cb_eval"),
            ADDRESS.withName("cb_eval_user_data"),
            JAVA_INT.withName("type_k"),
            JAVA_INT.withName("type_v"),
            ADDRESS.withName("abort_callback"),
            ADDRESS.withName("abort_callback_data"),
            JAVA_BOOLEAN.withName("embeddings"),
            JAVA_BOOLEAN.withName("offload_kqv"),
            JAVA_BOOLEAN.withName("no_perf"),
            JAVA_BOOLEAN.withName("op_offload"),
            JAVA_BOOLEAN.withName("swa_full"),
            JAVA_BOOLEAN.withName("kv_unified"),
            MemoryLayout.paddingLayout(2),
            ADDRESS.withName("samplers"),
            JAVA_LONG.withName("n_samplers"),
            ADDRESS.withName("ctx_other")).withName("llama_context_params");

    /** {@code struct llama_batch}: parallel arrays of {@code n_tokens} entries, owned by whoever filled them. */
    static final StructLayout BATCH = MemoryLayout.structLayout(
            JAVA_INT.withName("n_tokens"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("token"),
            ADDRESS.withName("embd"),
            ADDRESS.withName("pos"),
            ADDRESS.withName("n_seq_id"),
            ADDRESS.withName("seq_id"),
            ADDRESS.withName("logits")).withName("llama_batch");

    /** {@code struct llama_sampler_chain_params}. */
    static final StructLayout SAMPLER_CHAIN_PARAMS = MemoryLayout.structLayout(
            JAVA_BOOLEAN.withName("no_perf")).withName("llama_sampler_chain_params");

    /** {@code struct llama_logit_bias}: a token and what to add to its logit. */
    static final StructLayout LOGIT_BIAS = MemoryLayout.structLayout(
            JAVA_INT.withName("token"),
            JAVA_FLOAT.withName("bias")).withName("llama_logit_bias");

    /** {@code struct llama_token_data}: one candidate of a sampling step. */
    static final StructLayout TOKEN_DATA = MemoryLayout.structLayout(
            JAVA_INT.withName("id"),
            JAVA_FLOAT.withName("logit"),
            JAVA_FLOAT.withName("p")).withName("llama_token_data");

    /** {@code struct llama_token_data_array}: the candidates a sampler works on. */
    static final StructLayout TOKEN_DATA_ARRAY = MemoryLayout.structLayout(
            ADDRESS.withName("data"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("selected"),
            JAVA_BOOLEAN.withName("sorted"),
            MemoryLayout.paddingLayout(7)).withName("llama_token_data_array");

    /** {@code struct ggml_threadpool_params} of {@code ggml.h}: filled by {@code ggml_threadpool_params_init}. */
    static final StructLayout THREADPOOL_PARAMS = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(512, JAVA_BOOLEAN).withName("cpumask"),
            JAVA_INT.withName("n_threads"),
            JAVA_INT.withName("prio"),
            JAVA_INT.withName("poll"),
            JAVA_BOOLEAN.withName("strict_cpu"),
            JAVA_BOOLEAN.withName("paused"),
            MemoryLayout.paddingLayout(2)).withName("ggml_threadpool_params");

    /** {@code struct llama_opt_params}: how {@code llama_opt_init} sets up training on a context. */
    static final StructLayout OPT_PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("n_ctx_train"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("param_filter"),
            ADDRESS.withName("param_filter_ud"),
            ADDRESS.withName("get_opt_pars"),
            ADDRESS.withName("get_opt_pars_ud"),
            JAVA_INT.withName("optimizer_type"),
            MemoryLayout.paddingLayout(4)).withName("llama_opt_params");

    /** {@code struct ggml_opt_optimizer_params}: AdamW's and SGD's settings for one optimizer step. */
    static final StructLayout OPTIMIZER_PARAMS = MemoryLayout.structLayout(
            MemoryLayout.structLayout(
                    JAVA_FLOAT.withName("alpha"),
                    JAVA_FLOAT.withName("beta1"),
                    JAVA_FLOAT.withName("beta2"),
                    JAVA_FLOAT.withName("eps"),
                    JAVA_FLOAT.withName("wd")).withName("adamw"),
            MemoryLayout.structLayout(
                    JAVA_FLOAT.withName("alpha"),
                    JAVA_FLOAT.withName("wd")).withName("sgd")).withName("ggml_opt_optimizer_params");

    /** {@code struct llama_model_quantize_params}: converting a model file's tensor types. */
    static final StructLayout QUANTIZE_PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("nthread"),
            JAVA_INT.withName("ftype"),
            JAVA_INT.withName("output_tensor_type"),
            JAVA_INT.withName("token_embedding_type"),
            JAVA_BOOLEAN.withName("allow_requantize"),
            JAVA_BOOLEAN.withName("quantize_output_tensor"),
            JAVA_BOOLEAN.withName("only_copy"),
            JAVA_BOOLEAN.withName("pure"),
            JAVA_BOOLEAN.withName("keep_split"),
            JAVA_BOOLEAN.withName("dry_run"),
            MemoryLayout.paddingLayout(2),
            ADDRESS.withName("imatrix"),
            ADDRESS.withName("kv_overrides"),
            ADDRESS.withName("tt_overrides"),
            ADDRESS.withName("prune_layers"),
            JAVA_LONG.withName("max_buf_size")).withName("llama_model_quantize_params");

    /** Every struct above, for the check against the header. */
    static final List<StructLayout> ALL =
            List.of(MODEL_PARAMS, CONTEXT_PARAMS, BATCH, SAMPLER_CHAIN_PARAMS, LOGIT_BIAS, TOKEN_DATA, TOKEN_DATA_ARRAY,
                    THREADPOOL_PARAMS, OPT_PARAMS, OPTIMIZER_PARAMS, QUANTIZE_PARAMS);

    static VarHandle field(StructLayout layout, String name) {
        // The extra leading coordinate is the base offset; fixing it to 0 gives (segment) -> value.
        return java.lang.invoke.MethodHandles.insertCoordinates(layout.varHandle(groupElement(name)), 1, 0L);
    }

    // Fields the engine sets; everything else keeps llama.cpp's defaults.
    static final VarHandle MODEL_N_GPU_LAYERS = field(MODEL_PARAMS, "n_gpu_layers");
    static final VarHandle MODEL_SPLIT_MODE = field(MODEL_PARAMS, "split_mode");
    static final VarHandle MODEL_MAIN_GPU = field(MODEL_PARAMS, "main_gpu");
    static final VarHandle MODEL_TENSOR_SPLIT = field(MODEL_PARAMS, "tensor_split");
    static final VarHandle MODEL_DEVICES = field(MODEL_PARAMS, "devices");
    static final VarHandle MODEL_LOAD_MODE = field(MODEL_PARAMS, "load_mode");
    static final VarHandle MODEL_VOCAB_ONLY = field(MODEL_PARAMS, "vocab_only");

    static final VarHandle CTX_N_CTX = field(CONTEXT_PARAMS, "n_ctx");
    static final VarHandle CTX_N_BATCH = field(CONTEXT_PARAMS, "n_batch");
    static final VarHandle CTX_N_UBATCH = field(CONTEXT_PARAMS, "n_ubatch");
    static final VarHandle CTX_N_SEQ_MAX = field(CONTEXT_PARAMS, "n_seq_max");
    static final VarHandle CTX_N_THREADS = field(CONTEXT_PARAMS, "n_threads");
    static final VarHandle CTX_N_THREADS_BATCH = field(CONTEXT_PARAMS, "n_threads_batch");
    static final VarHandle CTX_NO_PERF = field(CONTEXT_PARAMS, "no_perf");
    static final VarHandle CTX_KV_UNIFIED = field(CONTEXT_PARAMS, "kv_unified");
    static final VarHandle CTX_TYPE_K = field(CONTEXT_PARAMS, "type_k");
    static final VarHandle CTX_TYPE_V = field(CONTEXT_PARAMS, "type_v");
    static final VarHandle CTX_SWA_FULL = field(CONTEXT_PARAMS, "swa_full");
    static final VarHandle CTX_EMBEDDINGS = field(CONTEXT_PARAMS, "embeddings");

    static final VarHandle BATCH_N_TOKENS = field(BATCH, "n_tokens");
    static final VarHandle BATCH_TOKEN = field(BATCH, "token");
    static final VarHandle BATCH_EMBD = field(BATCH, "embd");
    static final VarHandle BATCH_POS = field(BATCH, "pos");
    static final VarHandle BATCH_N_SEQ_ID = field(BATCH, "n_seq_id");
    static final VarHandle BATCH_SEQ_ID = field(BATCH, "seq_id");
    static final VarHandle BATCH_LOGITS = field(BATCH, "logits");

    static final VarHandle CHAIN_NO_PERF = field(SAMPLER_CHAIN_PARAMS, "no_perf");

    static final VarHandle OPT_N_CTX_TRAIN = field(OPT_PARAMS, "n_ctx_train");
    static final VarHandle OPT_PARAM_FILTER = field(OPT_PARAMS, "param_filter");
    static final VarHandle OPT_GET_OPT_PARS = field(OPT_PARAMS, "get_opt_pars");
    static final VarHandle OPT_OPTIMIZER_TYPE = field(OPT_PARAMS, "optimizer_type");

    static final VarHandle QUANTIZE_NTHREAD = field(QUANTIZE_PARAMS, "nthread");
    static final VarHandle QUANTIZE_FTYPE = field(QUANTIZE_PARAMS, "ftype");
    static final VarHandle QUANTIZE_ALLOW_REQUANTIZE = field(QUANTIZE_PARAMS, "allow_requantize");
    static final VarHandle QUANTIZE_OUTPUT_TENSOR = field(QUANTIZE_PARAMS, "quantize_output_tensor");
}
