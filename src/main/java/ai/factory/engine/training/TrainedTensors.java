package ai.factory.engine.training;

import java.util.Locale;

/** Which of a block's tensors train (within the blocks {@code trainLayers} chooses). */
public enum TrainedTensors {
    /** Every tensor of the chosen blocks, their norms, and the output norm and head. */
    ALL,
    /** The attention projections of the chosen blocks ({@code attn_q/k/v/output} and their norms), nothing else. */
    ATTENTION,
    /** The feed-forward network of the chosen blocks ({@code ffn_gate/up/down} and its norm), nothing else. */
    FEED_FORWARD;

    /** As the API names it: {@code all}, {@code attention} or {@code ffn}. */
    public String id() {
        return this == FEED_FORWARD ? "ffn" : name().toLowerCase(Locale.ROOT);
    }

    public static TrainedTensors of(String id) {
        for (TrainedTensors t : values()) {
            if (t.id().equalsIgnoreCase(id.trim())) {
                return t;
            }
        }
        throw new IllegalArgumentException("trainTensors is all, attention or ffn, not '" + id + "'");
    }
}
