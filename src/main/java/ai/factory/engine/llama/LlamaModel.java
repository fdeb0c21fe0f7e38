package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A loaded GGUF model and its vocabulary. Tokenization and piece look-ups are thread-safe (llama.h: "The
 * API is thread-safe" for tokenization; the vocabulary is immutable once loaded), so callers on any thread
 * may use them while an engine thread decodes. The owner closes it, once, after every user is done.
 */
final class LlamaModel implements AutoCloseable {
    /** {@code LLAMA_LOAD_MODE_NONE}: read the file into llama.cpp's own buffers. */
    static final int LOAD_MODE_NONE = 0;
    /** {@code LLAMA_LOAD_MODE_MMAP_MLOCK}: map the file and lock the mapping in RAM. */
    static final int LOAD_MODE_MMAP_MLOCK = 3;

    private final LlamaLibrary llama;
    private final MemorySegment model;
    private final MemorySegment vocab;
    private final int vocabularySize;
    private final int bos;
    private final int eos;
    private final boolean addBos;
    /** Holds what the model params point to ({@code tensor_split}) for as long as the model lives. */
    private final Arena arena;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Tokens found by {@link #tokenWithPiece}; the words asked for are the factory's own markers, so few. */
    private final Map<String, Integer> tokensByPiece = new ConcurrentHashMap<>();

    private LlamaModel(LlamaLibrary llama, MemorySegment model, Arena arena) {
        this.llama = llama;
        this.model = model;
        this.arena = arena;
        this.vocab = llama.modelGetVocab(model);
        this.vocabularySize = llama.vocabNTokens(vocab);
        this.bos = llama.vocabBos(vocab);
        this.eos = llama.vocabEos(vocab);
        this.addBos = llama.vocabGetAddBos(vocab);
    }

    /**
     * Loads a GGUF file. A file llama.cpp can't load (corrupt, truncated, unknown architecture) is
     * {@code INVALID_REQUEST} with llama.cpp's own reason.
     */
    static LlamaModel load(LlamaRuntime runtime, Path file) {
        return load(runtime, file, GpuOffload.CPU);
    }

    static LlamaModel load(LlamaRuntime runtime, Path file, GpuOffload gpu) {
        return load(runtime, file, file.getFileName().toString(), gpu, false);
    }

    /**
     * As above, with the layers {@code gpu} names on GPUs. Asking to offload on natives without a GPU backend is
     * {@code UNAVAILABLE}: llama.cpp would quietly run on the CPU, slower than planned and in host memory the plan
     * did not reserve.
     */
    static LlamaModel load(LlamaRuntime runtime, Path file, String name, GpuOffload gpu, boolean inMemory) {
        return load(runtime, file, name, gpu, inMemory ? (gpu.offloads() ? LOAD_MODE_NONE : LOAD_MODE_MMAP_MLOCK) : -1);
    }

    /**
     * Loads a GGUF file into llama.cpp's own buffers on the CPU, never mapped: the optimizer writes the weights in
     * place, which a read-only mapping of the file would not allow.
     */
    static LlamaModel loadForTraining(LlamaRuntime runtime, Path file) {
        return load(runtime, file, file.getFileName().toString(), GpuOffload.CPU, LOAD_MODE_NONE);
    }

    /**
     * Loads a GGUF file's vocabulary alone: its metadata is read, its weights are not (nor need they be in the file,
     * which must only be as long as the whole). It tokenizes and detokenizes as the whole model does, and cannot
     * decode.
     */
    static LlamaModel loadVocabulary(LlamaRuntime runtime, Path file, String name) {
        return load(runtime, file, name, GpuOffload.CPU, -1, true);
    }

    private static LlamaModel load(LlamaRuntime runtime, Path file, String name, GpuOffload gpu, int loadMode) {
        return load(runtime, file, name, gpu, loadMode, false);
    }

    /** As above; {@code loadMode} is a {@code llama_load_mode}, or -1 for llama.cpp's default. */
    private static LlamaModel load(LlamaRuntime runtime, Path file, String name, GpuOffload gpu, int loadMode,
                                   boolean vocabularyOnly) {
        if (!Files.isRegularFile(file)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "model file %s does not exist".formatted(file));
        }
        if (gpu.offloads() && !runtime.gpuOffload()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, ("cannot offload %s layers of %s to a GPU: the llama.cpp "
                    + "natives in %s have no GPU backend; start with FACTORY_LLAMA_VARIANT=cuda (or FACTORY_LLAMA_LIB_DIR "
                    + "set to a GPU build), or deploy with gpuLayers 0").formatted(
                    gpu.gpuLayers() == GpuOffload.ALL_LAYERS ? "all" : String.valueOf(gpu.gpuLayers()),
                    name, runtime.libraryDir()));
        }
        LlamaLibrary llama = runtime.library();
        MemorySegment model;
        String reason;
        // Owned by the model built below, which closes it in close(); every failure before that closes it here.
        @SuppressWarnings("MustBeClosedChecker")
        Arena owned = Arena.ofShared();
        try (Arena arena = Arena.ofConfined(); LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            MemorySegment params = llama.modelDefaultParams(arena);
            apply(gpu, params, owned);
            if (loadMode >= 0) {
                LlamaLayouts.MODEL_LOAD_MODE.set(params, loadMode);
            }
            LlamaLayouts.MODEL_VOCAB_ONLY.set(params, vocabularyOnly);
            model = llama.modelLoadFromFile(arena.allocateFrom(file.toString()), params);
            reason = errors.reason("llama.cpp gave no reason");
        } catch (RuntimeException e) {
            owned.close();
            throw e;
        }
        if (model.equals(MemorySegment.NULL)) {
            owned.close();
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "cannot load GGUF model %s: %s".formatted(name, reason));
        }
        LlamaModel loaded = new LlamaModel(llama, model, owned);
        if (llama.modelHasEncoder(model)) {
            loaded.close();
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "GGUF model %s is an encoder-decoder model; "
                    .formatted(name) + "only decoder-only text models can be served");
        }
        return loaded;
    }

    /**
     * Writes {@code gpu} into a {@code llama_model_params} segment; {@code tensor_split}, when given, is a
     * {@link GpuOffload#MAX_DEVICES}-float array allocated from {@code arena}, which must outlive the model.
     * The device list stays NULL (every GPU), as {@code tensor_split} and {@code main_gpu} choose among them.
     */
    static void apply(GpuOffload gpu, MemorySegment params, Arena arena) {
        LlamaLayouts.MODEL_N_GPU_LAYERS.set(params, gpu.gpuLayers());
        LlamaLayouts.MODEL_SPLIT_MODE.set(params, gpu.splitMode().value());
        LlamaLayouts.MODEL_MAIN_GPU.set(params, gpu.mainGpu());
        if (gpu.tensorSplit().isEmpty()) {
            LlamaLayouts.MODEL_TENSOR_SPLIT.set(params, MemorySegment.NULL);
        } else {
            MemorySegment split = arena.allocate(java.lang.foreign.ValueLayout.JAVA_FLOAT, GpuOffload.MAX_DEVICES);
            for (int i = 0; i < gpu.tensorSplit().size(); i++) {
                split.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, gpu.tensorSplit().get(i));
            }
            LlamaLayouts.MODEL_TENSOR_SPLIT.set(params, split);
        }
    }

    MemorySegment handle() {
        return model;
    }

    MemorySegment vocab() {
        return vocab;
    }

    /** INVALID_REQUEST naming {@code param} when a token is outside the vocabulary. */
    void checkTokens(int[] tokens, String param) {
        for (int token : tokens) {
            if (token < 0 || token >= vocabularySize) {
                throw FactoryException.invalidParam(param, "token %d is outside this model's vocabulary (0 to %d)"
                        .formatted(token, vocabularySize - 1));
            }
        }
    }

    int vocabularySize() {
        return vocabularySize;
    }

    /** The BOS token, or -1 if the model has none. */
    int bos() {
        return bos;
    }

    int eos() {
        return eos;
    }

    boolean addBos() {
        return addBos;
    }

    boolean isEndOfGeneration(int token) {
        return llama.vocabIsEog(vocab, token);
    }

    long parameterCount() {
        return llama.modelNParams(model);
    }

    long sizeBytes() {
        return llama.modelSize(model);
    }

    /** The GGUF's {@code tokenizer.chat_template}, or null. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    @Nullable String chatTemplate() {
        MemorySegment template = llama.modelChatTemplate(model, MemorySegment.NULL);
        return template.equals(MemorySegment.NULL) ? null : template.reinterpret(Long.MAX_VALUE).getString(0);
    }

    int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(Math.max(1, utf8.length));
            MemorySegment.copy(utf8, 0, bytes, JAVA_BYTE, 0, utf8.length);
            // Rarely more tokens than bytes; the special tokens added are the exception.
            int capacity = utf8.length + 8;
            MemorySegment tokens = arena.allocate(JAVA_INT, capacity);
            int count = llama.tokenize(vocab, bytes, utf8.length, tokens, capacity, addSpecial, parseSpecial);
            if (count < 0) {
                if (count == Integer.MIN_VALUE) {
                    throw FactoryException.invalidParam("prompt", "the text is too long to tokenize");
                }
                capacity = -count;
                tokens = arena.allocate(JAVA_INT, capacity);
                count = llama.tokenize(vocab, bytes, utf8.length, tokens, capacity, addSpecial, parseSpecial);
            }
            return tokens.asSlice(0, (long) count * Integer.BYTES).toArray(JAVA_INT);
        }
    }

    /**
     * The text of a token sequence: the inverse of {@link #tokenize}. Special tokens are not rendered. A
     * leading BOS is dropped before llama.cpp sees it, because llama.cpp then keeps the space an SPM
     * tokenizer put before the first word, and "Hello" would come back as " Hello".
     */
    String detokenize(int[] tokens) {
        int from = tokens.length > 0 && tokens[0] == bos ? 1 : 0;
        int count = tokens.length - from;
        if (count == 0) {
            return "";
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(JAVA_INT, count);
            MemorySegment.copy(tokens, from, ids, JAVA_INT, 0, count);
            int capacity = count * 8 + 16;
            MemorySegment text = arena.allocate(capacity);
            int length = llama.detokenize(vocab, ids, count, text, capacity, true, false);
            if (length < 0) {
                capacity = -length;
                text = arena.allocate(capacity);
                length = llama.detokenize(vocab, ids, count, text, capacity, true, false);
            }
            return new String(text.asSlice(0, length).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    /**
     * Writes a token's bytes into {@code buffer}; returns how many, or minus the size needed when the buffer
     * is too small. With {@code special}, control tokens render as their text.
     */
    int piece(int token, MemorySegment buffer, boolean special) {
        return llama.tokenToPiece(vocab, token, buffer, (int) Math.min(Integer.MAX_VALUE, buffer.byteSize()), 0, special);
    }

    /** A token's text, allocating; for rare uses (special-token texts, log-probability alternatives). */
    String pieceText(int token, boolean special) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(64);
            int length = piece(token, buffer, special);
            if (length < 0) {
                buffer = arena.allocate(-length);
                length = piece(token, buffer, special);
            }
            return new String(buffer.asSlice(0, length).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    /**
     * The token whose text, control tokens written as their text, is exactly {@code piece} (what llama.cpp's
     * grammar sampler is fed when that token triggers it), or -1 when no single token is. Tokenizing the text
     * finds it mostly; otherwise (a tokenizer that prefixes a space, say) the vocabulary is scanned once per piece.
     */
    int tokenWithPiece(String piece) {
        return tokensByPiece.computeIfAbsent(piece, p -> {
            int[] tokens = tokenize(p, false, true);
            if (tokens.length == 1 && pieceText(tokens[0], true).equals(p)) {
                return tokens[0];
            }
            for (int token = 0; token < vocabularySize; token++) {
                if (pieceText(token, true).equals(p)) {
                    return token;
                }
            }
            return -1;
        });
    }

    /** Frees the model; later calls must not happen. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            llama.modelFree(model);
            arena.close();
        }
    }
}
