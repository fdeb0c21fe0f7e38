package ai.factory.engine.training;

import ai.factory.engine.chat.TrainingExample;
import java.nio.file.Path;
import java.util.List;

/**
 * A fine-tuning run as the engine sees it: the base weights, the data, and the hyperparameters.
 *
 * <p>Examples are rendered (chat template or prompt + completion), tokenized, joined end to end and cut into
 * windows of {@code contextTokens}; each optimizer step sees {@code batchSize} consecutive windows, whose
 * gradients are accumulated. Loss counts every token of a window: llama.cpp's optimizer has no per-token mask,
 * so prompts are learned along with answers.
 *
 * @param base the GGUF to start from; its weights must be F32 or F16 (the training room converts others)
 * @param train the training examples, in the order given (the run shuffles windows per epoch with {@code seed})
 * @param validation the examples that only measure the loss, never trained on; may be empty
 * @param epochs passes over the training windows
 * @param learningRate AdamW's step size after warm-up
 * @param warmupSteps optimizer steps over which the learning rate climbs linearly from near zero
 * @param batchSize windows per optimizer step
 * @param contextTokens tokens per window
 * @param trainLayers how many of the last transformer blocks train (with the output norm and head); 0 = all
 * @param tensors which tensors of those blocks train
 * @param niceness the nice value (0-19) the training thread and its compute threads run at: above 0 yields the CPUs
 *     to serving
 * @param threads CPU threads for the forward and backward passes
 * @param seed the shuffle's seed
 * @param checkpointSteps a checkpoint every this many optimizer steps, besides each epoch's end; 0 = epochs only
 * @param startStep optimizer steps already done (resuming from a checkpoint whose weights are {@code base})
 */
public record TrainingOptions(Path base, List<TrainingExample> train, List<TrainingExample> validation, int epochs,
                              double learningRate, int warmupSteps, int batchSize, int contextTokens,
                              int trainLayers, TrainedTensors tensors, int threads, int niceness, long seed,
                              int checkpointSteps, int startStep) {
    public TrainingOptions {
        java.util.Objects.requireNonNull(tensors, "tensors is null");
        if (niceness < 0 || niceness > 19) {
            throw new IllegalArgumentException("niceness must be between 0 and 19: " + niceness);
        }
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be at least 1: " + epochs);
        }
        if (!(learningRate > 0 && learningRate < 1)) {
            throw new IllegalArgumentException("learning rate must be above 0 and below 1: " + learningRate);
        }
        if (warmupSteps < 0 || batchSize < 1 || contextTokens < 8 || trainLayers < 0 || threads < 1
                || checkpointSteps < 0 || startStep < 0) {
            throw new IllegalArgumentException("invalid training options: warm-up %d, batch %d, context %d, "
                    .formatted(warmupSteps, batchSize, contextTokens) + "layers %d, threads %d, checkpoint %d, start %d"
                    .formatted(trainLayers, threads, checkpointSteps, startStep));
        }
    }
}
