package ai.factory.models.gguf;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One tensor as a GGUF file describes it.
 *
 * @param name the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param dimensions the element counts per dimension, innermost (row length) first, as ggml orders them
 * @param type how the elements are stored
 * @param offset where the tensor's data starts, relative to the start of the data section
 *     ({@link GgufMetadata#tensorDataOffset()}), not to the start of the file
 * @param sizeBytes how many bytes the data takes
 */
public record TensorInfo(String name, List<Long> dimensions, GgmlType type, long offset, long sizeBytes) {
    public TensorInfo {
        requireNonNull(name, "name is null");
        dimensions = List.copyOf(requireNonNull(dimensions, "dimensions is null"));
        requireNonNull(type, "type is null");
        if (offset < 0) {
            throw new IllegalArgumentException("offset is negative: " + offset);
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes is negative: " + sizeBytes);
        }
    }

    /** The number of elements: the product of the dimensions. */
    public long elementCount() {
        long count = 1;
        for (long dimension : dimensions) {
            count = Math.multiplyExact(count, dimension);
        }
        return count;
    }
}
