package ai.factory.training;

import ai.factory.FactoryException;
import ai.factory.models.ModelVersion;
import java.util.Map;

/**
 * Whether llama.cpp can build a model's training graph. The pinned llama.cpp sizes the graph and the scheduler of a
 * context for inference, {@code max(1024, 8 × tensors)} nodes, and builds the training step (forward, backward and
 * optimizer) within that budget; a graph that does not fit fails an assertion that aborts the whole process. A job
 * that would is refused instead, with the number of blocks that fit.
 *
 * <p>The node counts are measured, not derived, on llama-architecture models: a 7-block model trains whole and an
 * 8-block one aborts (budget 1024); a 28-block model trains its last 8 blocks and aborts at 12 (budget 2032). About
 * 50 nodes, 25 per block for the forward pass, and 112 per trained block for its backward pass and optimizer fit
 * all four; other architectures may need more, and a run that still aborts is not resumed again
 * ({@link TrainingJobs}).
 */
final class GraphBudget {
    static final int FIXED = 50;
    static final int PER_BLOCK = 25;
    static final int PER_TRAINED_BLOCK = 112;

    private GraphBudget() {}

    /** The nodes llama.cpp gives a context of a model with {@code tensors} tensors. */
    static long budget(long tensors) {
        return Math.max(1024, 8 * tensors);
    }

    /** The nodes a training step of {@code trained} of {@code blocks} blocks needs, about. */
    static long needed(long blocks, long trained) {
        return FIXED + PER_BLOCK * blocks + PER_TRAINED_BLOCK * trained;
    }

    /** Refuses a job whose training graph would not fit. */
    static void require(ModelVersion base, Hyperparameters hp) {
        Map<String, Object> m = base.metadata();
        if (!(m.get("blockCount") instanceof Number b) || !(m.get("tensorCount") instanceof Number t)
                || b.longValue() <= 0) {
            return;
        }
        long blocks = b.longValue();
        long trained = hp.trainLayers() == 0 ? blocks : Math.min(hp.trainLayers(), blocks);
        long budget = budget(t.longValue());
        if (needed(blocks, trained) <= budget) {
            return;
        }
        long fit = (budget - FIXED - PER_BLOCK * blocks) / PER_TRAINED_BLOCK;
        throw FactoryException.invalidParam("trainLayers", ("llama.cpp builds a training step of %s within %d graph "
                + "nodes, and training %d of its %d blocks needs about %d: %s").formatted(base.ref(), budget, trained,
                blocks, needed(blocks, trained), fit >= 1
                        ? "train at most its last %d blocks (trainLayers %d)".formatted(fit, fit)
                        : "it cannot train even one block of this model"));
    }
}
