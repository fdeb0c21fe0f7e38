package ai.factory.engine.onnx;

import static java.util.Objects.requireNonNull;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Embeddings;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.IntStream;

/**
 * A sentence-transformers embedding model (BERT family, e.g. all-MiniLM-L6-v2) run by ONNX
 * Runtime, with its Hugging Face {@code tokenizer.json}.
 *
 * <p>Semantics follow sentence-transformers: each input is tokenized with its special tokens
 * ({@code [CLS] … [SEP]}), never truncated; the model's per-token output ({@code
 * last_hidden_state}, shape {@code [batch, tokens, dimensions]}) is averaged over the real tokens
 * (the attention mask) and the mean is scaled to unit length.
 *
 * <p>Thread-safety: the tokenizer and {@link OrtSession#run} may be used by many threads at once.
 * Every call holds the read side of a lock whose write side {@link #close()} takes, so native
 * memory is never freed under a running call.
 */
public final class OnnxEmbeddingEngine implements EmbeddingEngine {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxEmbeddingEngine.class);

    private static final String INPUT_IDS = "input_ids";
    private static final String ATTENTION_MASK = "attention_mask";
    private static final String TOKEN_TYPE_IDS = "token_type_ids";
    private static final List<String> TOKEN_OUTPUTS = List.of("last_hidden_state", "token_embeddings");

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final HuggingFaceTokenizer tokenizer;
    private final OnnxEmbeddingOptions options;
    private final boolean feedsTokenTypes;
    private final String outputName;
    private final int dimensions;
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed; // guarded by lifecycle

    private OnnxEmbeddingEngine(
            OrtEnvironment environment,
            OrtSession session,
            HuggingFaceTokenizer tokenizer,
            OnnxEmbeddingOptions options,
            boolean feedsTokenTypes,
            String outputName,
            int dimensions) {
        this.environment = environment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.options = options;
        this.feedsTokenTypes = feedsTokenTypes;
        this.outputName = outputName;
        this.dimensions = dimensions;
    }

    /**
     * Loads a model and its tokenizer. Throws {@link FactoryException} with {@code
     * INVALID_REQUEST} when either file is missing, unreadable, or not a model this engine can run.
     */
    public static OnnxEmbeddingEngine open(Path modelFile, Path tokenizerFile, OnnxEmbeddingOptions options) {
        requireNonNull(modelFile, "modelFile is null");
        requireNonNull(tokenizerFile, "tokenizerFile is null");
        requireNonNull(options, "options is null");
        requireFile(modelFile, "model");
        requireFile(tokenizerFile, "tokenizer");
        try {
            return open(Files.readAllBytes(modelFile), Files.readAllBytes(tokenizerFile), modelFile.getFileName().toString(),
                    options);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read %s or %s: %s".formatted(modelFile,
                    tokenizerFile, e.getMessage()), e);
        }
    }

    /**
     * Loads a model and its tokenizer from memory (decrypted blobs never touch the disk), showing the model as
     * {@code name}. Throws {@link FactoryException} with {@code INVALID_REQUEST} when either is not a model or
     * tokenizer this engine can run.
     */
    public static OnnxEmbeddingEngine open(byte[] model, byte[] tokenizerJson, String name, OnnxEmbeddingOptions options) {
        requireNonNull(model, "model is null");
        requireNonNull(tokenizerJson, "tokenizerJson is null");
        requireNonNull(options, "options is null");

        HuggingFaceTokenizer tokenizer = openTokenizer(tokenizerJson, name, options);
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions()) {
            sessionOptions.setIntraOpNumThreads(options.threads());
            // The graph is one chain of layers; a second pool would only sit idle.
            sessionOptions.setInterOpNumThreads(1);
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(model, sessionOptions);

            boolean feedsTokenTypes = checkInputs(session.getInputNames());
            String outputName = chooseOutput(session.getOutputInfo());
            int dimensions = checkOutput(outputName, session.getOutputInfo().get(outputName));
            LOG.info("Opened ONNX embedding model {}: {} dimensions, {} threads, at most {} tokens per input", name,
                    dimensions, options.threads(), options.maxInputTokens());
            return new OnnxEmbeddingEngine(
                    environment, session, tokenizer, options, feedsTokenTypes, outputName, dimensions);
        } catch (OrtException | RuntimeException e) {
            closeQuietly(session);
            tokenizer.close();
            if (e instanceof FactoryException factoryException) {
                throw factoryException;
            }
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "cannot load ONNX model %s: %s".formatted(name, e.getMessage()), e);
        }
    }

    @Override
    public int dimensions() {
        return dimensions;
    }

    @Override
    public int maxInputTokens() {
        return options.maxInputTokens();
    }

    @Override
    public int countTokens(String text) {
        requireNonNull(text, "text is null");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return tokenizer.encode(text, true, false).getIds().length;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public Embeddings embed(List<String> inputs) {
        requireNonNull(inputs, "inputs is null");
        if (inputs.isEmpty()) {
            throw FactoryException.invalidParam("input", "input is an empty list; send at least one string to embed");
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            // Every input is checked before any runs, so a bad one costs no model time.
            Encoding[] encodings = new Encoding[inputs.size()];
            int promptTokens = 0;
            for (int i = 0; i < encodings.length; i++) {
                encodings[i] = encode(i, inputs.get(i));
                promptTokens += encodings[i].getIds().length;
            }
            float[][] vectors = new float[encodings.length][];
            for (int[] batch : planBatches(encodings, options.maxBatchInputs(), options.maxBatchTokens())) {
                runBatch(batch, encodings, vectors);
            }
            return new Embeddings(Arrays.asList(vectors), promptTokens);
        } catch (OrtException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "embedding model run failed: " + e.getMessage(), e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            closeQuietly(session);
            tokenizer.close();
            // The OrtEnvironment is a process-wide singleton whose close() has been a no-op since
            // ORT 1.11; ORT frees it in a shutdown hook.
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private Encoding encode(int index, String text) {
        if (text == null) {
            throw FactoryException.invalidParam("input", "input[%d] is null; every input must be a string".formatted(index));
        }
        if (text.isEmpty()) {
            throw FactoryException.invalidParam(
                    "input", "input[%d] is empty; embeddings need at least one character".formatted(index));
        }
        Encoding encoding = tokenizer.encode(text, true, false);
        int tokens = encoding.getIds().length;
        if (tokens > options.maxInputTokens()) {
            throw FactoryException.invalidParam("input", "input[%d] has %d tokens; this model accepts at most %d per input"
                    .formatted(index, tokens, options.maxInputTokens()));
        }
        return encoding;
    }

    /**
     * Groups inputs into runs of at most {@code maxBatchInputs} inputs and {@code maxBatchTokens}
     * padded tokens. Sorting by length first keeps inputs of similar length together, so little
     * of each run is padding.
     */
    static List<int[]> planBatches(Encoding[] encodings, int maxBatchInputs, int maxBatchTokens) {
        int[] longestFirst = IntStream.range(0, encodings.length)
                .boxed()
                .sorted(Comparator.comparingInt((Integer i) -> encodings[i].getIds().length).reversed())
                .mapToInt(Integer::intValue)
                .toArray();
        List<int[]> batches = new ArrayList<>();
        int start = 0;
        while (start < longestFirst.length) {
            int width = encodings[longestFirst[start]].getIds().length;
            // At least one row: width <= maxInputTokens <= maxBatchTokens.
            int rows = Math.min(longestFirst.length - start, Math.min(maxBatchInputs, maxBatchTokens / width));
            batches.add(Arrays.copyOfRange(longestFirst, start, start + rows));
            start += rows;
        }
        return batches;
    }

    /** Runs one batch whose first member is its longest, and stores each member's vector. */
    private void runBatch(int[] members, Encoding[] encodings, float[][] vectors) throws OrtException {
        int rows = members.length;
        int width = encodings[members[0]].getIds().length;
        // Fresh direct buffers are zero-filled: every position past an input's end is padding with
        // attention mask 0, which hides it from the real tokens and from the mean below.
        LongBuffer ids = directLongs(rows * width);
        LongBuffer mask = directLongs(rows * width);
        LongBuffer types = feedsTokenTypes ? directLongs(rows * width) : null;
        for (int row = 0; row < rows; row++) {
            Encoding encoding = encodings[members[row]];
            long[] tokenIds = encoding.getIds();
            long[] typeIds = encoding.getTypeIds();
            for (int t = 0; t < tokenIds.length; t++) {
                ids.put(row * width + t, tokenIds[t]);
                mask.put(row * width + t, 1);
                if (types != null) {
                    types.put(row * width + t, typeIds[t]);
                }
            }
        }
        long[] shape = {rows, width};
        try (OnnxTensor idsTensor = OnnxTensor.createTensor(environment, ids, shape);
                OnnxTensor maskTensor = OnnxTensor.createTensor(environment, mask, shape);
                OnnxTensor typesTensor = types == null ? null : OnnxTensor.createTensor(environment, types, shape)) {
            Map<String, OnnxTensor> feed = new HashMap<>();
            feed.put(INPUT_IDS, idsTensor);
            feed.put(ATTENTION_MASK, maskTensor);
            if (typesTensor != null) {
                feed.put(TOKEN_TYPE_IDS, typesTensor);
            }
            try (OrtSession.Result result = session.run(feed, Set.of(outputName))) {
                OnnxTensor hidden = (OnnxTensor) result.get(0);
                long[] outputShape = hidden.getInfo().getShape();
                if (!Arrays.equals(outputShape, new long[] {rows, width, dimensions})) {
                    throw new FactoryException(ErrorCode.INTERNAL, "model output %s has shape %s; expected %s"
                            .formatted(outputName, Arrays.toString(outputShape), Arrays.toString(new long[] {rows, width, dimensions})));
                }
                FloatBuffer states = hidden.getFloatBuffer();
                for (int row = 0; row < rows; row++) {
                    int tokens = encodings[members[row]].getIds().length;
                    vectors[members[row]] = meanPooledUnitVector(states, row * width * dimensions, tokens);
                }
            }
        }
    }

    /** Averages the first {@code tokens} token vectors starting at {@code offset}, then scales to unit length. */
    private float[] meanPooledUnitVector(FloatBuffer states, int offset, int tokens) {
        double[] sum = new double[dimensions];
        for (int t = 0; t < tokens; t++) {
            int base = offset + t * dimensions;
            for (int d = 0; d < dimensions; d++) {
                sum[d] += states.get(base + d);
            }
        }
        double squares = 0;
        for (int d = 0; d < dimensions; d++) {
            sum[d] /= tokens;
            squares += sum[d] * sum[d];
        }
        // The same floor as torch.nn.functional.normalize, which sentence-transformers uses.
        double norm = Math.max(Math.sqrt(squares), 1e-12);
        float[] vector = new float[dimensions];
        for (int d = 0; d < dimensions; d++) {
            vector[d] = (float) (sum[d] / norm);
        }
        return vector;
    }

    private void ensureOpen() {
        if (closed) {
            throw new FactoryException(ErrorCode.UNAVAILABLE,
                    "this embedding model has been unloaded; retry, and the request will go to a running replica");
        }
    }

    private static HuggingFaceTokenizer openTokenizer(byte[] tokenizerJson, String name, OnnxEmbeddingOptions options) {
        DjlSettings.apply(options.nativeCacheDir());
        try {
            // tokenizer.json files often carry their own truncation and padding (this model's
            // truncates at 128 and pads to 128); both are switched off: long inputs are refused,
            // not silently cut, and padding is done per batch.
            return HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(tokenizerJson),
                    Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "cannot load the tokenizer of %s: %s".formatted(name, e.getMessage()), e);
        }
    }

    /** Returns whether the model takes token_type_ids; refuses inputs this engine cannot feed. */
    private static boolean checkInputs(Set<String> inputNames) {
        if (!inputNames.contains(INPUT_IDS) || !inputNames.contains(ATTENTION_MASK)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST,
                    "model inputs are %s; an embedding model needs %s and %s".formatted(inputNames, INPUT_IDS, ATTENTION_MASK));
        }
        for (String name : inputNames) {
            if (!Set.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS).contains(name)) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST,
                        "model input %s is not one this engine can feed (%s, %s, %s)"
                                .formatted(name, INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS));
            }
        }
        return inputNames.contains(TOKEN_TYPE_IDS);
    }

    /** The per-token output by its usual names, else the model's first output. */
    private static String chooseOutput(Map<String, NodeInfo> outputs) {
        return TOKEN_OUTPUTS.stream()
                .filter(outputs::containsKey)
                .findFirst()
                .orElseGet(() -> outputs.keySet().iterator().next());
    }

    /** Returns the output's vector length after checking it is a [batch, tokens, dimensions] float tensor. */
    private static int checkOutput(String name, @Nullable NodeInfo output) {
        if (output != null && output.getInfo() instanceof TensorInfo tensor
                && tensor.type == OnnxJavaType.FLOAT
                && tensor.getShape().length == 3
                && tensor.getShape()[2] > 0) {
            return Math.toIntExact(tensor.getShape()[2]);
        }
        throw new FactoryException(ErrorCode.INVALID_REQUEST,
                "model output %s is %s; an embedding model needs a float tensor [batch, tokens, dimensions] with fixed dimensions"
                        .formatted(name, output == null ? "missing" : output.getInfo()));
    }

    private static void requireFile(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "%s file %s does not exist".formatted(what, file));
        }
    }

    private static LongBuffer directLongs(int count) {
        return ByteBuffer.allocateDirect(count * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    private static void closeQuietly(@Nullable OrtSession session) {
        if (session == null) {
            return;
        }
        try {
            session.close();
        } catch (OrtException e) {
            // Nothing more can be freed; the caller is already done with the model.
            LOG.warn("closing an ONNX session failed", e);
        }
    }
}
