package ai.factory.models.synth;

import ai.factory.models.gguf.GgmlType;
import ai.factory.models.gguf.GgufWriter;
import ai.factory.models.gguf.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Seeded random tensor bytes that are valid weights of their type, fast enough to write gigabytes:
 * a xorshift generator fills whole words and a few bits are then fixed. Matrix weights lie within
 * about ±0.02 (the spread of Llama's initialisation), so activations stay finite through any number of
 * layers; F32 tensors (the norms) are all 1.0. A chunk depends only on the seed, the tensor name and
 * the chunk's offset, so the same seed gives the same file.
 */
final class RandomWeights implements GgufWriter.TensorContent {
    private static final float RANGE = 0.02f;
    // Q8_0: a float16 scale d, then 32 int8 q; the weight is q * d.
    private static final short Q8_0_SCALE = Float.floatToFloat16(RANGE / 127);
    // Q4_0: a float16 scale d, then 16 bytes of 4-bit q; the weight is (q - 8) * d.
    private static final short Q4_0_SCALE = Float.floatToFloat16(RANGE / 8);
    // F16 halves with a random sign and mantissa and the exponent of 2^-6: magnitudes in [0.0156, 0.031).
    private static final long F16_KEEP = 0x83FF_83FF_83FF_83FFL;
    private static final long F16_EXPONENT = 0x2400_2400_2400_2400L;

    private final long seed;

    RandomWeights(long seed) {
        this.seed = seed;
    }

    @Override
    public void fill(TensorInfo tensor, long offset, ByteBuffer chunk) {
        chunk.order(ByteOrder.LITTLE_ENDIAN);
        GgmlType type = tensor.type();
        int start = chunk.position();
        int end = chunk.limit();
        switch (type) {
            case F32 -> {
                while (chunk.position() < end) {
                    chunk.putFloat(1.0f);
                }
            }
            case F16 -> randomWords(chunk, tensor, offset, F16_KEEP, F16_EXPONENT);
            case Q8_0 -> {
                randomWords(chunk, tensor, offset, -1L, 0L);
                setScales(chunk, start, end, type.bytesPerBlock(), Q8_0_SCALE);
            }
            case Q4_0 -> {
                randomWords(chunk, tensor, offset, -1L, 0L);
                setScales(chunk, start, end, type.bytesPerBlock(), Q4_0_SCALE);
            }
            default -> throw new IllegalArgumentException("random weights of type " + type + " are not supported");
        }
    }

    /** Fills the chunk with random bytes, each 64-bit word {@code (r & keep) | set}. */
    private void randomWords(ByteBuffer chunk, TensorInfo tensor, long offset, long keep, long set) {
        long state = mix(seed ^ mix(tensor.name().hashCode()) ^ mix(offset + 1));
        if (state == 0) {
            state = 0x9E37_79B9_7F4A_7C15L;
        }
        int end = chunk.limit();
        while (end - chunk.position() >= Long.BYTES) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            chunk.putLong((state & keep) | set);
        }
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        long word = (state & keep) | set;
        while (chunk.position() < end) {
            chunk.put((byte) word);
            word >>>= 8;
        }
    }

    private static void setScales(ByteBuffer chunk, int start, int end, int blockBytes, short scale) {
        for (int block = start; block < end; block += blockBytes) {
            chunk.putShort(block, scale);
        }
    }

    /** SplitMix64's finaliser: spreads nearby seeds, names and offsets over the whole state space. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
