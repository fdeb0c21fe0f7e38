package ai.factory.models.gguf;

import java.util.Optional;

/**
 * The types of GGUF metadata values, with their ids as stored in the file. Fixed-size types
 * give their size; a string is a uint64 byte length followed by UTF-8 bytes, an array a uint32
 * element type, a uint64 element count and the elements, so {@link #minimumBytes()} is what
 * the smallest value of each type takes.
 */
enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, 8),
    ARRAY(9, 12),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private final int id;
    private final int minimumBytes;

    GgufValueType(int id, int minimumBytes) {
        this.id = id;
        this.minimumBytes = minimumBytes;
    }

    int id() {
        return id;
    }

    int minimumBytes() {
        return minimumBytes;
    }

    boolean isFixedSize() {
        return this != STRING && this != ARRAY;
    }

    static Optional<GgufValueType> find(long id) {
        for (GgufValueType type : values()) {
            if (type.id == id) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }
}
