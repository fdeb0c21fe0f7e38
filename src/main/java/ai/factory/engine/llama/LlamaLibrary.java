package ai.factory.engine.llama;

import org.jspecify.annotations.Nullable;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;

/**
 * Hand-written bindings for exactly the llama.cpp functions the engine calls, against the pinned
 * {@code llama.h}. Each method mirrors one C function; pointers are {@link MemorySegment}s whose
 * lifetime is the caller's business. Methods are safe to call from any thread where llama.cpp says the
 * function is (tokenization and vocabulary look-ups are; everything on a context is single-threaded).
 */
final class LlamaLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final SymbolLookup symbols;

    private final MethodHandle backendInit;
    private final MethodHandle backendLoadAllFromPath;
    private final MethodHandle logSet;
    private final MethodHandle supportsGpuOffload;
    private final MethodHandle maxDevices;
    private final MethodHandle backendDevCount;
    private final MethodHandle backendDevGet;
    private final MethodHandle backendDevName;
    private final MethodHandle backendDevDescription;
    private final MethodHandle backendDevType;
    private final MethodHandle backendDevMemory;
    private final MethodHandle maxParallelSequences;
    private final MethodHandle modelDefaultParams;
    private final MethodHandle contextDefaultParams;
    private final MethodHandle modelLoadFromFile;
    private final MethodHandle modelFree;
    private final MethodHandle modelGetVocab;
    private final MethodHandle modelChatTemplate;
    private final MethodHandle modelNParams;
    private final MethodHandle modelSize;
    private final MethodHandle modelHasEncoder;
    private final MethodHandle initFromModel;
    private final MethodHandle free;
    private final MethodHandle nCtxSeq;
    private final MethodHandle nBatch;
    private final MethodHandle getMemory;
    private final MethodHandle memorySeqRm;
    private final MethodHandle memorySeqCp;
    private final MethodHandle decode;
    private final MethodHandle getLogitsIth;
    private final MethodHandle vocabNTokens;
    private final MethodHandle vocabBos;
    private final MethodHandle vocabEos;
    private final MethodHandle vocabIsEog;
    private final MethodHandle vocabGetAddBos;
    private final MethodHandle tokenize;
    private final MethodHandle tokenToPiece;
    private final MethodHandle detokenize;
    private final MethodHandle samplerChainInit;
    private final MethodHandle samplerChainAdd;
    private final MethodHandle samplerInitGreedy;
    private final MethodHandle samplerInitDist;
    private final MethodHandle samplerInitTopK;
    private final MethodHandle samplerInitTopP;
    private final MethodHandle samplerInitMinP;
    private final MethodHandle samplerInitTemp;
    private final MethodHandle samplerInitPenalties;
    private final MethodHandle samplerInitGrammar;
    private final MethodHandle samplerInitGrammarLazyPatterns;
    private final MethodHandle samplerSample;
    private final MethodHandle samplerApply;
    private final MethodHandle samplerInitLogitBias;
    private final MethodHandle samplerAccept;
    private final MethodHandle samplerFree;
    private final MethodHandle backendDevByType;
    private final MethodHandle backendDevBackendReg;
    private final MethodHandle backendRegGetProcAddress;
    private final MethodHandle threadpoolParamsInit;
    private final MethodHandle attachThreadpool;

    LlamaLibrary(SymbolLookup symbols) {
        this.symbols = symbols;
        backendInit = bind("llama_backend_init", FunctionDescriptor.ofVoid());
        backendLoadAllFromPath = bind("ggml_backend_load_all_from_path", FunctionDescriptor.ofVoid(ADDRESS));
        logSet = bind("llama_log_set", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        supportsGpuOffload = bind("llama_supports_gpu_offload", FunctionDescriptor.of(JAVA_BOOLEAN));
        maxDevices = bind("llama_max_devices", FunctionDescriptor.of(JAVA_LONG));
        backendDevCount = bind("ggml_backend_dev_count", FunctionDescriptor.of(JAVA_LONG));
        backendDevGet = bind("ggml_backend_dev_get", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        backendDevName = bind("ggml_backend_dev_name", FunctionDescriptor.of(ADDRESS, ADDRESS));
        backendDevDescription = bind("ggml_backend_dev_description", FunctionDescriptor.of(ADDRESS, ADDRESS));
        backendDevType = bind("ggml_backend_dev_type", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        backendDevMemory = bind("ggml_backend_dev_memory", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
        maxParallelSequences = bind("llama_max_parallel_sequences", FunctionDescriptor.of(JAVA_LONG));
        modelDefaultParams = bind("llama_model_default_params", FunctionDescriptor.of(LlamaLayouts.MODEL_PARAMS));
        contextDefaultParams = bind("llama_context_default_params", FunctionDescriptor.of(LlamaLayouts.CONTEXT_PARAMS));
        modelLoadFromFile = bind("llama_model_load_from_file",
                FunctionDescriptor.of(ADDRESS, ADDRESS, LlamaLayouts.MODEL_PARAMS));
        modelFree = bind("llama_model_free", FunctionDescriptor.ofVoid(ADDRESS));
        modelGetVocab = bind("llama_model_get_vocab", FunctionDescriptor.of(ADDRESS, ADDRESS));
        modelChatTemplate = bind("llama_model_chat_template", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        modelNParams = bind("llama_model_n_params", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        modelSize = bind("llama_model_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        modelHasEncoder = bind("llama_model_has_encoder", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS));
        initFromModel = bind("llama_init_from_model",
                FunctionDescriptor.of(ADDRESS, ADDRESS, LlamaLayouts.CONTEXT_PARAMS));
        free = bind("llama_free", FunctionDescriptor.ofVoid(ADDRESS));
        nCtxSeq = bind("llama_n_ctx_seq", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        nBatch = bind("llama_n_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getMemory = bind("llama_get_memory", FunctionDescriptor.of(ADDRESS, ADDRESS));
        memorySeqRm = bind("llama_memory_seq_rm",
                FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
        memorySeqCp = bind("llama_memory_seq_cp",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        decode = bind("llama_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, LlamaLayouts.BATCH));
        getLogitsIth = bind("llama_get_logits_ith", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        vocabNTokens = bind("llama_vocab_n_tokens", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabBos = bind("llama_vocab_bos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabEos = bind("llama_vocab_eos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabIsEog = bind("llama_vocab_is_eog", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT));
        vocabGetAddBos = bind("llama_vocab_get_add_bos", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS));
        tokenize = bind("llama_tokenize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        tokenToPiece = bind("llama_token_to_piece", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
        detokenize = bind("llama_detokenize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        samplerChainInit = bind("llama_sampler_chain_init",
                FunctionDescriptor.of(ADDRESS, LlamaLayouts.SAMPLER_CHAIN_PARAMS));
        samplerChainAdd = bind("llama_sampler_chain_add", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        samplerInitGreedy = bind("llama_sampler_init_greedy", FunctionDescriptor.of(ADDRESS));
        samplerInitDist = bind("llama_sampler_init_dist", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        samplerInitTopK = bind("llama_sampler_init_top_k", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        samplerInitTopP = bind("llama_sampler_init_top_p", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
        samplerInitMinP = bind("llama_sampler_init_min_p", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
        samplerInitTemp = bind("llama_sampler_init_temp", FunctionDescriptor.of(ADDRESS, JAVA_FLOAT));
        samplerInitPenalties = bind("llama_sampler_init_penalties",
                FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT));
        samplerInitGrammar = bind("llama_sampler_init_grammar", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        samplerInitGrammarLazyPatterns = bind("llama_sampler_init_grammar_lazy_patterns", FunctionDescriptor.of(ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
        samplerSample = bind("llama_sampler_sample", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        samplerApply = bind("llama_sampler_apply", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        samplerInitLogitBias = bind("llama_sampler_init_logit_bias", FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT,
                ADDRESS));
        samplerAccept = bind("llama_sampler_accept", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        samplerFree = bind("llama_sampler_free", FunctionDescriptor.ofVoid(ADDRESS));
        backendDevByType = bind("ggml_backend_dev_by_type", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        backendDevBackendReg = bind("ggml_backend_dev_backend_reg", FunctionDescriptor.of(ADDRESS, ADDRESS));
        backendRegGetProcAddress = bind("ggml_backend_reg_get_proc_address", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        threadpoolParamsInit = bind("ggml_threadpool_params_init", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        attachThreadpool = bind("llama_attach_threadpool", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    }

    private MethodHandle bind(String name, FunctionDescriptor descriptor) {
        return bind(symbols, name, descriptor);
    }

    /** A downcall handle for function {@code name}, which the pinned llama.cpp libraries must have. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    static MethodHandle bind(SymbolLookup symbols, String name, FunctionDescriptor descriptor) {
        MemorySegment address = symbols.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("llama.cpp library has no function " + name + "; is it the pinned version?"));
        return LINKER.downcallHandle(address, descriptor);
    }

    /** A function pointer for a Java static method, for callbacks llama.cpp keeps for the life of the process. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    static MemorySegment upcall(Class<?> owner, String method, FunctionDescriptor descriptor) {
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(owner, method, descriptor.toMethodType());
            // llama.cpp keeps the pointer in process-global state with no way to take it back, so the stub
            // must outlive every llama.cpp call: the global arena, never freed.
            return LINKER.upcallStub(target, descriptor, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The libraries' symbols, for the training bindings ({@link LlamaTraining}) that share them. */
    SymbolLookup symbols() {
        return symbols;
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    void backendInit() {
        try {
            backendInit.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void backendLoadAllFromPath(MemorySegment dir) {
        try {
            backendLoadAllFromPath.invokeExact(dir);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void logSet(MemorySegment callback, MemorySegment userData) {
        try {
            logSet.invokeExact(callback, userData);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean supportsGpuOffload() {
        try {
            return (boolean) supportsGpuOffload.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long maxDevices() {
        try {
            return (long) maxDevices.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long backendDevCount() {
        try {
            return (long) backendDevCount.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment backendDevGet(long index) {
        try {
            return (MemorySegment) backendDevGet.invokeExact(index);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment backendDevName(MemorySegment device) {
        try {
            return (MemorySegment) backendDevName.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment backendDevDescription(MemorySegment device) {
        try {
            return (MemorySegment) backendDevDescription.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int backendDevType(MemorySegment device) {
        try {
            return (int) backendDevType.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void backendDevMemory(MemorySegment device, MemorySegment free, MemorySegment total) {
        try {
            backendDevMemory.invokeExact(device, free, total);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long maxParallelSequences() {
        try {
            return (long) maxParallelSequences.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment modelDefaultParams(SegmentAllocator allocator) {
        try {
            return (MemorySegment) modelDefaultParams.invokeExact(allocator);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment contextDefaultParams(SegmentAllocator allocator) {
        try {
            return (MemorySegment) contextDefaultParams.invokeExact(allocator);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment modelLoadFromFile(MemorySegment path, MemorySegment params) {
        try {
            return (MemorySegment) modelLoadFromFile.invokeExact(path, params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void modelFree(MemorySegment model) {
        try {
            modelFree.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment modelGetVocab(MemorySegment model) {
        try {
            return (MemorySegment) modelGetVocab.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The model's default chat template, or {@link MemorySegment#NULL}. */
    MemorySegment modelChatTemplate(MemorySegment model, MemorySegment name) {
        try {
            return (MemorySegment) modelChatTemplate.invokeExact(model, name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long modelNParams(MemorySegment model) {
        try {
            return (long) modelNParams.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long modelSize(MemorySegment model) {
        try {
            return (long) modelSize.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean modelHasEncoder(MemorySegment model) {
        try {
            return (boolean) modelHasEncoder.invokeExact(model);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment initFromModel(MemorySegment model, MemorySegment params) {
        try {
            return (MemorySegment) initFromModel.invokeExact(model, params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void free(MemorySegment context) {
        try {
            free.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int nCtxSeq(MemorySegment context) {
        try {
            return (int) nCtxSeq.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int nBatch(MemorySegment context) {
        try {
            return (int) nBatch.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment getMemory(MemorySegment context) {
        try {
            return (MemorySegment) getMemory.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Removes a sequence's cells at positions [p0, p1) (negative: unbounded); false if that can't be done. */
    boolean memorySeqRm(MemorySegment memory, int seqId, int p0, int p1) {
        try {
            return (boolean) memorySeqRm.invokeExact(memory, seqId, p0, p1);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Copies all of sequence {@code src}'s cells to sequence {@code dst} ({@code llama_memory_seq_cp} with positions
     * -1 and -1). Between the per-sequence streams of a context with {@code kv_unified = false} only a whole copy is
     * allowed (llama.cpp aborts the process on a partial one), hence no range here. The cells' metadata is copied at
     * once, their data at the start of the next {@code llama_decode}, before that step's batch is computed.
     */
    void memorySeqCp(MemorySegment memory, int src, int dst) {
        try {
            memorySeqCp.invokeExact(memory, src, dst, -1, -1);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int decode(MemorySegment context, MemorySegment batch) {
        try {
            return (int) decode.invokeExact(context, batch);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment getLogitsIth(MemorySegment context, int i) {
        try {
            return (MemorySegment) getLogitsIth.invokeExact(context, i);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int vocabNTokens(MemorySegment vocab) {
        try {
            return (int) vocabNTokens.invokeExact(vocab);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int vocabBos(MemorySegment vocab) {
        try {
            return (int) vocabBos.invokeExact(vocab);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int vocabEos(MemorySegment vocab) {
        try {
            return (int) vocabEos.invokeExact(vocab);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean vocabIsEog(MemorySegment vocab, int token) {
        try {
            return (boolean) vocabIsEog.invokeExact(vocab, token);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean vocabGetAddBos(MemorySegment vocab) {
        try {
            return (boolean) vocabGetAddBos.invokeExact(vocab);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int tokenize(MemorySegment vocab, MemorySegment text, int textLength, MemorySegment tokens, int maxTokens,
                 boolean addSpecial, boolean parseSpecial) {
        try {
            return (int) tokenize.invokeExact(vocab, text, textLength, tokens, maxTokens, addSpecial, parseSpecial);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int tokenToPiece(MemorySegment vocab, int token, MemorySegment buffer, int length, int lstrip, boolean special) {
        try {
            return (int) tokenToPiece.invokeExact(vocab, token, buffer, length, lstrip, special);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int detokenize(MemorySegment vocab, MemorySegment tokens, int count, MemorySegment text, int maxLength,
                   boolean removeSpecial, boolean unparseSpecial) {
        try {
            return (int) detokenize.invokeExact(vocab, tokens, count, text, maxLength, removeSpecial, unparseSpecial);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerChainInit(MemorySegment params) {
        try {
            return (MemorySegment) samplerChainInit.invokeExact(params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Adds to a chain, which then owns (and frees) the sampler. */
    void samplerChainAdd(MemorySegment chain, MemorySegment sampler) {
        try {
            samplerChainAdd.invokeExact(chain, sampler);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitGreedy() {
        try {
            return (MemorySegment) samplerInitGreedy.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitDist(int seed) {
        try {
            return (MemorySegment) samplerInitDist.invokeExact(seed);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitTopK(int k) {
        try {
            return (MemorySegment) samplerInitTopK.invokeExact(k);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitTopP(float p, long minKeep) {
        try {
            return (MemorySegment) samplerInitTopP.invokeExact(p, minKeep);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitMinP(float p, long minKeep) {
        try {
            return (MemorySegment) samplerInitMinP.invokeExact(p, minKeep);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment samplerInitTemp(float t) {
        try {
            return (MemorySegment) samplerInitTemp.invokeExact(t);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    MemorySegment samplerInitPenalties(int nVocab, int lastN, float repeat, float frequency, float presence) {
        try {
            return (MemorySegment) samplerInitPenalties.invokeExact(nVocab, lastN, repeat, frequency, presence);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code llama_sampler_init_grammar}: a sampler that keeps the output inside a GBNF grammar, or NULL when the
     * grammar does not parse (llama.cpp logs why). llama.cpp copies both strings.
     */
    MemorySegment samplerInitGrammar(MemorySegment vocab, MemorySegment grammar, MemorySegment root) {
        try {
            return (MemorySegment) samplerInitGrammar.invokeExact(vocab, grammar, root);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code llama_sampler_init_grammar_lazy_patterns}: a grammar sampler that lets the output run free until it
     * matches one of the patterns (ECMAScript regular expressions matched from the start of the output; the
     * grammar then applies from the pattern's first group) or one of the tokens is sampled. NULL when the grammar
     * does not parse. A pattern {@code std::regex} rejects throws through the C API and ends the process, so
     * callers check patterns first ({@link TriggerPatterns}). llama.cpp copies the strings and the tokens.
     */
    MemorySegment samplerInitGrammarLazyPatterns(MemorySegment vocab, MemorySegment grammar, MemorySegment root,
                                                 MemorySegment patterns, long patternCount, MemorySegment tokens,
                                                 long tokenCount) {
        try {
            return (MemorySegment) samplerInitGrammarLazyPatterns.invokeExact(vocab, grammar, root, patterns,
                    patternCount, tokens, tokenCount);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Samples from the logits of batch entry {@code index} and accepts the token into the chain's state. */
    int samplerSample(MemorySegment sampler, MemorySegment context, int index) {
        try {
            return (int) samplerSample.invokeExact(sampler, context, index);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void samplerFree(MemorySegment sampler) {
        try {
            samplerFree.invokeExact(sampler);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A sampler adding {@code count} {@code llama_logit_bias} entries to their tokens' logits; llama.cpp copies them. */
    MemorySegment samplerInitLogitBias(int vocabularySize, int count, MemorySegment biases) {
        try {
            return (MemorySegment) samplerInitLogitBias.invokeExact(vocabularySize, count, biases);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Lets a sampler (or a chain) work on candidates: mask, reorder, or select ({@code selected}). */
    void samplerApply(MemorySegment sampler, MemorySegment candidates) {
        try {
            samplerApply.invokeExact(sampler, candidates);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Tells a sampler (or a chain) which token was chosen, so its state (a grammar's, the penalties') follows. */
    void samplerAccept(MemorySegment sampler, int token) {
        try {
            samplerAccept.invokeExact(sampler, token);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code GGML_BACKEND_DEVICE_TYPE_CPU} of {@code enum ggml_backend_dev_type}. */
    static final int DEVICE_TYPE_CPU = 0;

    /** {@code ggml_backend_dev_by_type}: the first device of a type, or NULL. */
    MemorySegment backendDevByType(int type) {
        try {
            return (MemorySegment) backendDevByType.invokeExact(type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_backend_dev_backend_reg}: the backend a device belongs to. */
    MemorySegment backendDevBackendReg(MemorySegment device) {
        try {
            return (MemorySegment) backendDevBackendReg.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_backend_reg_get_proc_address}: a function a dynamically loaded backend exports, or NULL. */
    MemorySegment backendRegGetProcAddress(MemorySegment reg, MemorySegment name) {
        try {
            return (MemorySegment) backendRegGetProcAddress.invokeExact(reg, name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_threadpool_params_init}: ggml's defaults for a pool of {@code threads} threads. */
    void threadpoolParamsInit(MemorySegment params, int threads) {
        try {
            threadpoolParamsInit.invokeExact(params, threads);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code llama_attach_threadpool}: the pools a context computes with, for single tokens and for batches. */
    void attachThreadpool(MemorySegment context, MemorySegment threadpool, MemorySegment threadpoolBatch) {
        try {
            attachThreadpool.invokeExact(context, threadpool, threadpoolBatch);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A downcall handle for a function pointer obtained at run time, e.g. from {@link #backendRegGetProcAddress}. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    static MethodHandle function(MemorySegment address, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(address, descriptor);
    }
}
