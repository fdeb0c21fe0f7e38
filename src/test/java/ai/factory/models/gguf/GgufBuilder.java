package ai.factory.models.gguf;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Writes GGUF files for tests, byte by byte, including ones no real writer would produce: any
 * magic, version, declared count, value type id, tensor type id, dimension or offset. Tensors
 * added with a {@link GgmlType} get aligned offsets and zeroed data, as a real writer lays
 * them out; tensors added with raw ids get exactly the offset given and no data.
 */
final class GgufBuilder {
    static final int UINT8 = 0;
    static final int INT32 = 5;
    static final int UINT32 = 4;
    static final int FLOAT32 = 6;
    static final int BOOL = 7;
    static final int STRING = 8;
    static final int ARRAY = 9;
    static final int UINT64 = 10;

    private byte[] magic = "GGUF".getBytes(UTF_8);
    private int version = 3;
    private Long declaredTensorCount;
    private Long declaredEntryCount;
    private final List<Consumer<Out>> entries = new ArrayList<>();
    private final List<Consumer<Out>> tensorInfos = new ArrayList<>();
    private long alignment = 32;
    private long dataSize;

    /** A file with the one key every model needs and one small F32 tensor. */
    static GgufBuilder minimalModel() {
        return new GgufBuilder().string("general.architecture", "llama").tensor("output_norm.weight", GgmlType.F32, 8);
    }

    GgufBuilder magic(byte... magic) {
        this.magic = magic.clone();
        return this;
    }

    GgufBuilder version(int version) {
        this.version = version;
        return this;
    }

    /** Declares a tensor count in the header other than the number of tensors added. */
    GgufBuilder declaredTensorCount(long count) {
        this.declaredTensorCount = count;
        return this;
    }

    /** Declares a metadata entry count in the header other than the number of entries added. */
    GgufBuilder declaredEntryCount(long count) {
        this.declaredEntryCount = count;
        return this;
    }

    /** An entry with any value type id, its value written by {@code value}. */
    GgufBuilder entry(String key, long typeId, Consumer<Out> value) {
        entries.add(out -> {
            out.string(key);
            out.u32(typeId);
            value.accept(out);
        });
        return this;
    }

    GgufBuilder string(String key, String value) {
        return entry(key, STRING, out -> out.string(value));
    }

    GgufBuilder uint32(String key, long value) {
        return entry(key, UINT32, out -> out.u32(value));
    }

    GgufBuilder uint64(String key, long value) {
        return entry(key, UINT64, out -> out.u64(value));
    }

    GgufBuilder int32(String key, int value) {
        return entry(key, INT32, out -> out.u32(value));
    }

    GgufBuilder float32(String key, float value) {
        return entry(key, FLOAT32, out -> out.u32(Float.floatToIntBits(value)));
    }

    GgufBuilder stringArray(String key, List<String> values) {
        return entry(key, ARRAY, out -> {
            out.u32(STRING);
            out.u64(values.size());
            values.forEach(out::string);
        });
    }

    /** Sets {@code general.alignment} and pads the file to match. */
    GgufBuilder alignment(long alignment) {
        this.alignment = alignment;
        return uint32("general.alignment", alignment);
    }

    /** A tensor laid out as a real writer would: at the next aligned offset, with zeroed data. */
    GgufBuilder tensor(String name, GgmlType type, long... dimensions) {
        long elements = 1;
        for (long dimension : dimensions) {
            elements *= dimension;
        }
        long offset = alignUp(dataSize, alignment);
        dataSize = offset + type.bytesFor(elements);
        return tensor(name, type.id(), offset, dimensions);
    }

    /** A tensor info with any type id, dimensions and offset, adding no data. */
    GgufBuilder tensor(String name, long typeId, long offset, long... dimensions) {
        tensorInfos.add(out -> {
            out.string(name);
            out.u32(dimensions.length);
            for (long dimension : dimensions) {
                out.u64(dimension);
            }
            out.u32(typeId);
            out.u64(offset);
        });
        return this;
    }

    /** A tensor info with any number of dimensions, as the file declares it. */
    GgufBuilder tensorWithDimensionCount(String name, long dimensionCount) {
        tensorInfos.add(out -> {
            out.string(name);
            out.u32(dimensionCount);
            for (long d = 0; d < Math.min(dimensionCount, 16); d++) {
                out.u64(1);
            }
            out.u32(GgmlType.F32.id());
            out.u64(0);
        });
        return this;
    }

    /** Sets the size of the data section, which otherwise holds exactly the laid-out tensors. */
    GgufBuilder dataSize(long dataSize) {
        this.dataSize = dataSize;
        return this;
    }

    byte[] build() {
        Out out = new Out();
        out.bytes(magic);
        out.u32(version);
        out.u64(declaredTensorCount != null ? declaredTensorCount : tensorInfos.size());
        out.u64(declaredEntryCount != null ? declaredEntryCount : entries.size());
        entries.forEach(entry -> entry.accept(out));
        tensorInfos.forEach(info -> info.accept(out));
        if (!tensorInfos.isEmpty() && alignment > 0 && Long.bitCount(alignment) == 1) {
            out.zeros(alignUp(out.size(), alignment) - out.size());
        }
        out.zeros(alignUp(dataSize, alignment > 0 && Long.bitCount(alignment) == 1 ? alignment : 1));
        return out.toByteArray();
    }

    private static long alignUp(long position, long alignment) {
        return alignment > 0 && Long.bitCount(alignment) == 1 ? (position + alignment - 1) & -alignment : position;
    }

    /** Little-endian output in the GGUF encoding. */
    static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        void u8(int value) {
            bytes.write(value);
        }

        void u32(long value) {
            for (int i = 0; i < 4; i++) {
                bytes.write((int) (value >>> (8 * i)));
            }
        }

        void u64(long value) {
            for (int i = 0; i < 8; i++) {
                bytes.write((int) (value >>> (8 * i)));
            }
        }

        void bytes(byte[] value) {
            bytes.writeBytes(value);
        }

        /** A GGUF string: a uint64 byte length, then the UTF-8 bytes. */
        void string(String value) {
            byte[] utf8 = value.getBytes(UTF_8);
            u64(utf8.length);
            bytes(utf8);
        }

        void zeros(long count) {
            bytes.writeBytes(new byte[Math.toIntExact(count)]);
        }

        int size() {
            return bytes.size();
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }
}
