package ai.factory.engine.training;

import org.jspecify.annotations.Nullable;
import java.nio.file.Path;

/**
 * What a fine-tuning run reports while it runs, called on the training thread. A run stops early (at the next
 * step) once {@link #cancelled()} is true, after a last checkpoint when {@link #pauseRequested()} is too.
 */
public interface TrainingListener {
    /** Before the first step: how much work there is. */
    default void started(int stepsPerEpoch, int totalSteps, int tokensPerStep) {}

    /**
     * After each optimizer step.
     *
     * @param step optimizer steps done so far, across epochs (1-based)
     * @param epoch the epoch this step belongs to (1-based)
     * @param loss the step's mean cross-entropy per token
     * @param learningRate the rate the step used
     * @param tokensPerSecond the step's training throughput
     */
    default void step(int step, int epoch, double loss, double learningRate, double tokensPerSecond) {}

    /** After each epoch: the epoch's mean training loss and the validation loss (NaN without validation data). */
    default void epoch(int epoch, double trainingLoss, double validationLoss) {}

    /**
     * Where to write the checkpoint after {@code step} (a file llama.cpp may create or overwrite), or null to skip it.
     * None by default.
     */
    default @Nullable Path checkpointFile(int step, int epoch) {
        return null;
    }

    /**
     * A checkpoint was written: the weights after {@code step} steps are in {@code weights} (what {@link
     * #checkpointFile} gave); a run resumed with these weights as its base and {@code startStep = step} carries on
     * from here.
     */
    default void checkpoint(int step, int epoch, Path weights) {}

    default boolean cancelled() {
        return false;
    }

    /**
     * Whether a run that {@link #cancelled() stops} is pausing rather than ending: it then writes a checkpoint of
     * the weights as they are (unless the last one is of this step) before it returns, so that a run resumed from it
     * does no step twice.
     */
    default boolean pauseRequested() {
        return false;
    }
}
