package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.chat.TrainingExample;
import ai.factory.engine.training.TrainedTensors;
import ai.factory.engine.training.TrainingListener;
import ai.factory.engine.training.TrainingOptions;
import ai.factory.engine.chat.ChatFormats;
import ai.factory.engine.chat.ChatTemplate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fine-tunes a GGUF model in this process with llama.cpp's optimizer ({@code llama_opt_init}, {@code
 * llama_opt_epoch}): full fine-tuning of F32/F16/BF16 weights, or of the last {@code trainLayers} blocks, with
 * AdamW, a linear warm-up, per-step losses, validation per epoch, checkpoints and cancellation between steps.
 *
 * <p>llama.cpp runs a whole dataset per {@code llama_opt_epoch} call; this class hands it one window at a time
 * (a one-datapoint dataset refilled per step), so the factory chooses the order, reports every step, writes
 * checkpoints where it likes and stops when asked. Each call is exactly one optimizer step: the datapoint is one
 * batch ({@code n_batch = n_ctx}) of {@code batchSize} micro-batches whose gradients accumulate.
 *
 * <p>A run resumed from a checkpoint restarts AdamW's moment estimates from zero; the step count, the learning
 * rate schedule and the window order carry on where they were.
 */
public final class LlamaTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaTrainer.class);
    /** llama.cpp rounds a context up to a multiple of this; a training window must already be one. */
    static final int CONTEXT_GRANULE = 256;
    /** {@code LLAMA_FTYPE_ALL_F32}, {@code LLAMA_FTYPE_MOSTLY_F16}, {@code LLAMA_FTYPE_MOSTLY_BF16}. */
    private static final List<Integer> TRAINABLE_FTYPES = List.of(0, 1, 32);
    /** {@code LLAMA_FTYPE_GUESSED}. */
    private static final int FTYPE_GUESSED = 1024;

    private static final VarHandle ADAMW_ALPHA = param("adamw", "alpha");
    private static final VarHandle ADAMW_BETA1 = param("adamw", "beta1");
    private static final VarHandle ADAMW_BETA2 = param("adamw", "beta2");
    private static final VarHandle ADAMW_EPS = param("adamw", "eps");
    private static final VarHandle ADAMW_WD = param("adamw", "wd");
    private static final VarHandle SGD_ALPHA = param("sgd", "alpha");

    /**
     * What a run produced.
     *
     * @param steps optimizer steps done, counting those before a resume
     * @param trainingLoss the last epoch's mean training loss (NaN if no epoch finished)
     * @param validationLoss the last epoch's validation loss (NaN without validation data)
     * @param tokens tokens per epoch after packing
     * @param contextLength the base model's trained context length, which llama.cpp overwrote in the saved file with
     *     the training window; the caller restores it
     * @param cancelled whether the run stopped early because its listener asked
     */
    public record Outcome(int steps, double trainingLoss, double validationLoss, long tokens, int contextLength,
                          boolean cancelled) {}

    private final LlamaTraining training;
    private final TrainingOptions options;
    private final int layers;
    private final MemorySegment optimizerParams;
    private double learningRate;

    private LlamaTrainer(LlamaTraining training, TrainingOptions options, int layers, Arena arena) {
        this.training = training;
        this.options = options;
        this.layers = layers;
        this.optimizerParams = arena.allocate(LlamaLayouts.OPTIMIZER_PARAMS);
    }

    /**
     * Trains {@code options.base()} and writes the result to {@code output} (a GGUF), where the listener says.
     * A base whose weights are quantized is {@code INVALID_REQUEST}: convert it with {@link #convertToF32} first.
     */
    public static Outcome train(LlamaRuntime runtime, TrainingOptions options, Path output, TrainingListener listener) {
        requireNonNull(options, "options is null");
        requireNonNull(output, "output is null");
        requireNonNull(listener, "listener is null");
        int window = options.batchSize() * options.contextTokens();
        if (window % CONTEXT_GRANULE != 0) {
            throw FactoryException.invalidParam("batchSize", ("batch size × context (%d × %d = %d tokens) must be a "
                    + "multiple of %d").formatted(options.batchSize(), options.contextTokens(), window, CONTEXT_GRANULE));
        }
        LlamaLibrary llama = runtime.library();
        LlamaTraining training = runtime.training();
        try (LlamaModel model = LlamaModel.loadForTraining(runtime, options.base()); Arena arena = Arena.ofShared()) {
            // llama.cpp marks a file type it inferred from the tensors (as in files it saved itself) with a flag bit.
            int ftype = training.modelFtype(model.handle()) & ~FTYPE_GUESSED;
            if (!TRAINABLE_FTYPES.contains(ftype)) {
                throw FactoryException.invalidParam("baseModelIdentifier", ("the base model's weights are quantized "
                        + "(llama.cpp file type %d); training needs F32, F16 or BF16 weights").formatted(ftype));
            }
            int contextLength = training.modelNCtxTrain(model.handle());
            List<int[]> examples = tokens(model, options.train());
            List<int[]> validation = tokens(model, options.validation());
            LlamaTrainer trainer = new LlamaTrainer(training, options, training.modelNLayer(model.handle()), arena);
            if (options.niceness() > 0 && !ThreadPriority.lowerCurrentThread(options.niceness())) {
                LOG.warn("training runs at the priority of serving: its thread's nice value could not be set to {}",
                        options.niceness());
            }
            MemorySegment context = context(llama, model, options, window);
            CpuThreadpool threadpool = null;
            try {
                threadpool = CpuThreadpool.create(llama, options.threads());
                if (threadpool != null) {
                    llama.attachThreadpool(context, threadpool.handle(), threadpool.handle());
                }
                warmUp(llama, model, context, arena);
                return trainer.run(model, context, arena, examples,
                        validation.isEmpty() ? null : TrainingWindows.joined(validation, window), output, listener,
                        contextLength);
            } finally {
                llama.free(context);
                if (threadpool != null) {
                    threadpool.close();
                }
            }
        }
    }

    private static MemorySegment context(LlamaLibrary llama, LlamaModel model, TrainingOptions options, int window) {
        MemorySegment context;
        String reason;
        try (Arena scratch = Arena.ofConfined(); LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            MemorySegment params = llama.contextDefaultParams(scratch);
            LlamaLayouts.CTX_N_CTX.set(params, window);
            LlamaLayouts.CTX_N_BATCH.set(params, window);
            LlamaLayouts.CTX_N_UBATCH.set(params, options.contextTokens());
            LlamaLayouts.CTX_N_SEQ_MAX.set(params, 1);
            LlamaLayouts.CTX_N_THREADS.set(params, options.threads());
            LlamaLayouts.CTX_N_THREADS_BATCH.set(params, options.threads());
            LlamaLayouts.CTX_NO_PERF.set(params, true);
            // The backward pass has no F16 OUT_PROD, so the KV cache must hold F32.
            LlamaLayouts.CTX_TYPE_K.set(params, LlamaTraining.GGML_TYPE_F32);
            LlamaLayouts.CTX_TYPE_V.set(params, LlamaTraining.GGML_TYPE_F32);
            context = llama.initFromModel(model.handle(), params);
            reason = errors.reason("llama.cpp gave no reason");
        }
        if (context.equals(MemorySegment.NULL)) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot create a training context: " + reason);
        }
        if (llama.nCtxSeq(context) != window) {
            llama.free(context);
            throw new FactoryException(ErrorCode.UNAVAILABLE, "llama.cpp made a training context of %d tokens, not %d"
                    .formatted(llama.nCtxSeq(context), window));
        }
        return context;
    }

    /**
     * One token decoded before training. The optimizer computes its graphs through the context's scheduler without
     * going through {@code llama_decode}, which is where llama.cpp hands the CPU backend its thread count and
     * thread pool; until a decode has, the backend runs ggml's default of 4 threads, which on a smaller machine
     * spend most of each step spinning at barriers.
     */
    private static void warmUp(LlamaLibrary llama, LlamaModel model, MemorySegment context, Arena arena) {
        LlamaBatch batch = new LlamaBatch(arena, 1);
        batch.add(model.bos() >= 0 ? model.bos() : 0, 0, 0, true);
        int status = llama.decode(context, batch.struct());
        if (status != 0) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "llama.cpp could not decode on the training context: "
                    + status);
        }
    }

    // Restricted FFM calls are this package's job: the dataset's tensors are window-sized host buffers.
    @SuppressWarnings("restricted")
    private Outcome run(LlamaModel model, MemorySegment context, Arena arena,
                        List<int[]> examples, @Nullable TrainingWindows validation, Path output, TrainingListener listener,
                        int contextLength) {
        MemorySegment params = arena.allocate(LlamaLayouts.OPT_PARAMS);
        LlamaLayouts.OPT_N_CTX_TRAIN.set(params, 0);
        LlamaLayouts.OPT_PARAM_FILTER.set(params, upcall("trains", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, ADDRESS),
                arena));
        LlamaLayouts.OPT_GET_OPT_PARS.set(params, upcall("optimizerParams",
                FunctionDescriptor.of(LlamaLayouts.OPTIMIZER_PARAMS, ADDRESS), arena));
        LlamaLayouts.OPT_OPTIMIZER_TYPE.set(params, LlamaTraining.OPTIMIZER_ADAMW);
        training.optInit(context, model.handle(), params);

        int length = options.batchSize() * options.contextTokens();
        TrainingWindows windows = TrainingWindows.shuffled(examples, length, options.seed(), 1);
        MemorySegment dataset = training.datasetInit(LlamaTraining.GGML_TYPE_I32, LlamaTraining.GGML_TYPE_I32,
                length, length, 1, 1);
        MemorySegment trainResult = training.resultInit();
        MemorySegment evalResult = training.resultInit();
        try {
            MemorySegment data = training.getData(training.datasetData(dataset)).reinterpret(4L * length);
            MemorySegment labels = training.getData(training.datasetLabels(dataset)).reinterpret(4L * length);
            MemorySegment loss = arena.allocate(JAVA_DOUBLE);
            MemorySegment uncertainty = arena.allocate(JAVA_DOUBLE);
            int[] tokens = new int[length];
            int[] next = new int[length];
            int perEpoch = windows.count();
            int total = perEpoch * options.epochs();
            int step = Math.min(options.startStep(), total);
            int saved = step;
            listener.started(perEpoch, total, length);
            double trainingLoss = Double.NaN;
            double validationLoss = Double.NaN;
            for (int epoch = step / perEpoch + 1; epoch <= options.epochs(); epoch++) {
                windows = TrainingWindows.shuffled(examples, length, options.seed(), epoch);
                double sum = 0;
                int counted = 0;
                for (int k = step - (epoch - 1) * perEpoch; k < perEpoch; k++) {
                    if (listener.cancelled()) {
                        if (listener.pauseRequested() && step > saved) {
                            checkpoint(model, arena, step, epoch, listener);
                        }
                        return new Outcome(step, trainingLoss, validationLoss, windows.tokens(), contextLength, true);
                    }
                    windows.fill(k, tokens, next);
                    MemorySegment.copy(tokens, 0, data, JAVA_INT, 0, length);
                    MemorySegment.copy(next, 0, labels, JAVA_INT, 0, length);
                    learningRate = rate(options.learningRate(), options.warmupSteps(), step + 1, total);
                    training.resultReset(trainResult);
                    long started = System.nanoTime();
                    training.optEpoch(context, dataset, trainResult, evalResult, 1);
                    double seconds = (System.nanoTime() - started) / 1e9;
                    training.resultLoss(trainResult, loss, uncertainty);
                    double stepLoss = loss.get(JAVA_DOUBLE, 0);
                    step++;
                    sum += stepLoss;
                    counted++;
                    listener.step(step, epoch, stepLoss, learningRate, length / Math.max(seconds, 1e-9));
                    if (options.checkpointSteps() > 0 && step % options.checkpointSteps() == 0 && k < perEpoch - 1) {
                        checkpoint(model, arena, step, epoch, listener);
                        saved = step;
                    }
                }
                trainingLoss = counted == 0 ? trainingLoss : sum / counted;
                validationLoss = validation == null ? Double.NaN
                        : validate(context, dataset, data, labels, validation, evalResult, loss, uncertainty);
                listener.epoch(epoch, trainingLoss, validationLoss);
                LOG.info("training epoch {}/{}: loss {}, validation loss {}", epoch, options.epochs(),
                        trainingLoss, validationLoss);
                if (epoch < options.epochs()) {
                    checkpoint(model, arena, step, epoch, listener);
                    saved = step;
                }
            }
            save(model, arena, output);
            return new Outcome(step, trainingLoss, validationLoss, windows.tokens(), contextLength, false);
        } finally {
            training.resultFree(trainResult);
            training.resultFree(evalResult);
            training.datasetFree(dataset);
        }
    }

    /** The mean loss over every validation window, with the weights as they are: a forward pass only. */
    private double validate(MemorySegment context, MemorySegment dataset, MemorySegment data, MemorySegment labels,
                            TrainingWindows validation, MemorySegment result, MemorySegment loss,
                            MemorySegment uncertainty) {
        int length = validation.length();
        int[] tokens = new int[length];
        int[] next = new int[length];
        training.resultReset(result);
        for (int i = 0; i < validation.count(); i++) {
            validation.fill(i, tokens, next);
            MemorySegment.copy(tokens, 0, data, JAVA_INT, 0, length);
            MemorySegment.copy(next, 0, labels, JAVA_INT, 0, length);
            training.optEpoch(context, dataset, result, result, 0);
        }
        training.resultLoss(result, loss, uncertainty);
        return loss.get(JAVA_DOUBLE, 0);
    }

    private void checkpoint(LlamaModel model, Arena arena, int step, int epoch, TrainingListener listener) {
        Path file = listener.checkpointFile(step, epoch);
        if (file != null) {
            save(model, arena, file);
            listener.checkpoint(step, epoch, file);
        }
    }

    /** Writes the weights to {@code file}, which may be a {@code /proc/self/fd} path of a memory file. */
    private void save(LlamaModel model, Arena arena, Path file) {
        training.modelSaveToFile(model.handle(), arena.allocateFrom(file.toString()));
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            size = 0;
        }
        if (size == 0) {
            throw new FactoryException(ErrorCode.INTERNAL, "llama.cpp did not write the trained weights to " + file);
        }
    }

    /**
     * The learning rate of optimizer step {@code step} (1-based) of {@code total}: a linear warm-up to the rate asked
     * for, then a linear decay towards zero at the last step (the schedule most fine-tuning services default to).
     */
    static double rate(double learningRate, int warmupSteps, int step, int total) {
        if (step <= warmupSteps) {
            return learningRate * step / (warmupSteps + 1);
        }
        double remaining = (double) (total - step + 1) / (total - warmupSteps);
        return learningRate * Math.max(0.0, Math.min(1.0, remaining));
    }

    // ---- callbacks from llama.cpp, on the training thread; an exception must never escape into C ----

    /** {@code llama_opt_param_filter}: whether a tensor trains. */
    @SuppressWarnings({"unused", "restricted"}) // called from llama.cpp through the upcall stub; a C string
    private boolean trains(MemorySegment tensor, MemorySegment userData) {
        try {
            return trains(training.getName(tensor).reinterpret(Integer.MAX_VALUE).getString(0), layers,
                    options.trainLayers(), options.tensors());
        } catch (RuntimeException e) {
            LOG.error("training parameter filter failed; the tensor stays frozen", e);
            return false;
        }
    }

    /**
     * Whether tensor {@code name} trains when the last {@code trainLayers} of {@code layers} blocks do (0 = all) and
     * {@code tensors} of them: a chosen block's tensors ({@code blk.N.attn_*} for attention, {@code blk.N.ffn_*} for the
     * feed-forward network), and with {@link TrainedTensors#ALL} the output norm and head too. Never the token
     * embeddings (llama.cpp cannot train them yet).
     */
    static boolean trains(String name, int layers, int trainLayers, TrainedTensors tensors) {
        if (name.startsWith("blk.")) {
            int dot = name.indexOf('.', 4);
            int block;
            try {
                block = Integer.parseInt(name.substring(4, dot < 0 ? name.length() : dot));
            } catch (NumberFormatException e) {
                return false;
            }
            if (trainLayers > 0 && block < layers - trainLayers) {
                return false;
            }
            return switch (tensors) {
                case ALL -> true;
                case ATTENTION -> name.startsWith(".attn_", dot);
                case FEED_FORWARD -> name.startsWith(".ffn_", dot);
            };
        }
        return tensors == TrainedTensors.ALL && (trainLayers == 0 || name.startsWith("output"));
    }

    /** {@code ggml_opt_get_optimizer_params}: AdamW's settings for the step about to be taken. */
    @SuppressWarnings("unused") // called from llama.cpp through the upcall stub
    private MemorySegment optimizerParams(MemorySegment userData) {
        ADAMW_ALPHA.set(optimizerParams, (float) learningRate);
        ADAMW_BETA1.set(optimizerParams, 0.9f);
        ADAMW_BETA2.set(optimizerParams, 0.999f);
        ADAMW_EPS.set(optimizerParams, 1e-8f);
        ADAMW_WD.set(optimizerParams, 0f);
        SGD_ALPHA.set(optimizerParams, (float) learningRate);
        return optimizerParams;
    }

    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    private MemorySegment upcall(String method, FunctionDescriptor descriptor, Arena arena) {
        try {
            var target = MethodHandles.lookup().findVirtual(LlamaTrainer.class, method,
                    descriptor.toMethodType()).bindTo(this);
            return Linker.nativeLinker().upcallStub(target, descriptor, arena);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static VarHandle param(String group, String field) {
        return MethodHandles.insertCoordinates(LlamaLayouts.OPTIMIZER_PARAMS.varHandle(
                PathElement.groupElement(group), PathElement.groupElement(field)), 1, 0L);
    }

    /**
     * Every example rendered and tokenized: a conversation as the model's chat template writes it, a
     * completion as its prompt followed by its completion; each starts with BOS where the model wants one and
     * ends with EOS.
     */
    static List<int[]> tokens(LlamaModel model, List<TrainingExample> examples) {
        ChatTemplate template = ChatFormats.forModel(model.chatTemplate());
        String bos = model.bos() < 0 ? "" : model.pieceText(model.bos(), true);
        String eos = model.eos() < 0 ? "" : model.pieceText(model.eos(), true);
        List<int[]> parts = new ArrayList<>(examples.size());
        for (TrainingExample example : examples) {
            String text = switch (example) {
                case TrainingExample.Completion c -> c.prompt() + c.completion();
                case TrainingExample.Conversation c -> template.render(c.messages(), false, bos, eos);
            };
            int[] tokens = model.tokenize(text, false, true);
            boolean addBos = model.addBos() && model.bos() >= 0 && (tokens.length == 0 || tokens[0] != model.bos());
            boolean addEos = model.eos() >= 0 && (tokens.length == 0 || tokens[tokens.length - 1] != model.eos());
            int[] part = new int[tokens.length + (addBos ? 1 : 0) + (addEos ? 1 : 0)];
            if (addBos) {
                part[0] = model.bos();
            }
            System.arraycopy(tokens, 0, part, addBos ? 1 : 0, tokens.length);
            if (addEos) {
                part[part.length - 1] = model.eos();
            }
            parts.add(part);
        }
        return parts;
    }

    /**
     * Writes {@code input} with every tensor converted to F32 ({@code llama_model_quantize} to {@code ALL_F32},
     * dequantizing where needed), so that a quantized base can be trained.
     */
    public static void convertToF32(LlamaRuntime runtime, Path input, Path output, int threads) {
        LlamaTraining training = runtime.training();
        try (Arena arena = Arena.ofConfined(); LlamaLog.Capture errors = LlamaLog.captureErrors()) {
            MemorySegment params = training.modelQuantizeDefaultParams(arena);
            LlamaLayouts.QUANTIZE_NTHREAD.set(params, threads);
            LlamaLayouts.QUANTIZE_FTYPE.set(params, LlamaTraining.FTYPE_ALL_F32);
            LlamaLayouts.QUANTIZE_ALLOW_REQUANTIZE.set(params, true);
            LlamaLayouts.QUANTIZE_OUTPUT_TENSOR.set(params, true);
            int status = training.modelQuantize(arena.allocateFrom(input.toString()),
                    arena.allocateFrom(output.toString()), params);
            if (status != 0) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot convert %s to F32: %s"
                        .formatted(input.getFileName(), errors.reason("llama.cpp gave no reason")));
            }
        }
    }
}
