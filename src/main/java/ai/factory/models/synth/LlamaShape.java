package ai.factory.models.synth;

/**
 * The shape of a llama-architecture model: a decoder of {@code layers} blocks, each grouped-query
 * attention ({@code heads} query heads sharing {@code kvHeads} key/value heads) and a SwiGLU
 * feed-forward network, with the output projection tied to the token embedding as in Llama 3.2.
 *
 * @param embedding {@code n_embd}, the width of the residual stream
 * @param layers {@code n_layer}
 * @param heads {@code n_head}
 * @param kvHeads {@code n_head_kv}
 * @param feedForward {@code n_ff}
 * @param vocabulary the number of tokens
 */
public record LlamaShape(int embedding, int layers, int heads, int kvHeads, int feedForward, int vocabulary) {
    // The widths of Llama 3.2 1B and 3B and Llama 3.1 8B, and two narrower ones for small targets;
    // the layer count then makes up the parameter target.
    private static final int[][] WIDTHS = {
            // up to, n_embd, n_head, n_head_kv, n_ff (parameter targets in millions)
            {50, 256, 4, 2, 768},
            {400, 768, 12, 4, 2048},
            {2_000, 2048, 32, 8, 8192},
            {6_000, 3072, 24, 8, 8192},
            {Integer.MAX_VALUE, 4096, 32, 8, 14336},
    };

    public LlamaShape {
        positive("embedding", embedding);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("feedForward", feedForward);
        positive("vocabulary", vocabulary);
        if (embedding % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("%d heads do not divide an embedding of %d or are not a multiple of %d key/value heads"
                    .formatted(heads, embedding, kvHeads));
        }
        if (embedding % 32 != 0 || feedForward % 32 != 0) {
            throw new IllegalArgumentException("embedding %d and feed-forward %d must be multiples of 32, the quantization block"
                    .formatted(embedding, feedForward));
        }
    }

    /** A Llama-3.2-like shape whose parameter count comes as close to {@code target} as whole layers allow. */
    public static LlamaShape forTarget(long target, int vocabulary) {
        if (target <= 0) {
            throw new IllegalArgumentException("the parameter target must be positive: " + target);
        }
        int[] width = WIDTHS[WIDTHS.length - 1];
        for (int[] candidate : WIDTHS) {
            if (target <= candidate[0] * 1_000_000L) {
                width = candidate;
                break;
            }
        }
        LlamaShape oneLayer = new LlamaShape(width[1], 1, width[2], width[3], width[4], vocabulary);
        long perLayer = oneLayer.layerParameters();
        long layers = Math.max(1, Math.round((double) (target - oneLayer.sharedParameters()) / perLayer));
        if (layers > 1_000) {
            throw new IllegalArgumentException("a target of %d parameters needs more than 1000 layers".formatted(target));
        }
        return new LlamaShape(width[1], (int) layers, width[2], width[3], width[4], vocabulary);
    }

    public int headDimension() {
        return embedding / heads;
    }

    /** The width of the keys (and values) of all key/value heads together. */
    public int kvEmbedding() {
        return headDimension() * kvHeads;
    }

    /** The parameters of one block: its two norms, four attention and three feed-forward matrices. */
    public long layerParameters() {
        long e = embedding;
        return 2 * e + 2 * e * e + 2 * e * kvEmbedding() + 3 * e * feedForward;
    }

    /** The parameters outside the blocks: the (tied) token embedding and the output norm. */
    public long sharedParameters() {
        return (long) vocabulary * embedding + embedding;
    }

    public long parameters() {
        return sharedParameters() + layers * layerParameters();
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
    }
}
