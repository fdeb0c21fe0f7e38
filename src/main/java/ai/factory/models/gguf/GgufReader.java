package ai.factory.models.gguf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads what a GGUF model file says about itself (its header, metadata and tensor infos)
 * without loading any tensor data.
 *
 * <h2>The format</h2>
 * Little-endian throughout; a {@code string} is a uint64 byte length followed by that many
 * UTF-8 bytes, with no terminator.
 * <pre>
 * uint32  magic               "GGUF", the bytes 0x47 0x47 0x55 0x46
 * uint32  version             2 or 3; 1 had 32-bit counts and is obsolete, 3 only added big-endian files
 * uint64  tensor_count
 * uint64  metadata_kv_count
 * metadata_kv_count times:
 *   string  key               e.g. "general.architecture"
 *   uint32  value_type        0 UINT8, 1 INT8, 2 UINT16, 3 INT16, 4 UINT32, 5 INT32, 6 FLOAT32,
 *                             7 BOOL (one byte, 0 or 1), 8 STRING, 9 ARRAY, 10 UINT64, 11 INT64, 12 FLOAT64
 *   value                     an ARRAY is a uint32 element type, a uint64 count and the elements
 * tensor_count times:
 *   string  name
 *   uint32  n_dims            at most 4
 *   uint64  dims[n_dims]      innermost (row length) first
 *   uint32  type              a {@link GgmlType} id
 *   uint64  offset            relative to the data section; a multiple of the alignment
 * zero padding up to a multiple of general.alignment (a uint32 key, default 32, a power of two)
 * the data section: each tensor's bytes at its offset
 * </pre>
 *
 * <h2>Untrusted input</h2>
 * Files come from uploads and downloads, so every length and count is checked against the bytes
 * left in the file before anything is allocated or read for it, and every failure is a
 * {@link GgufFormatException}. Keys and tensor names are capped at 64 KiB, array nesting at 8
 * levels, and strings kept in {@link GgufMetadata#scalarMetadata()} at 64 KiB each (chat
 * templates at 1 MiB) and 32 MiB in all. Arrays are walked, not kept: a 256,000-entry vocabulary costs its length, nothing more.
 * Every tensor's data must lie inside the file, which is how a truncated file is recognised.
 */
public final class GgufReader {
    static final int MAX_KEY_BYTES = 64 * 1024;
    static final int MAX_TENSOR_NAME_BYTES = 64 * 1024;
    static final int MAX_STRING_BYTES = 64 * 1024;
    static final int MAX_CHAT_TEMPLATE_BYTES = 1024 * 1024;
    static final int MAX_RETAINED_STRING_BYTES = 32 * 1024 * 1024;
    static final int MAX_ARRAY_DEPTH = 8;
    // Real models have at most a few thousand tensors and a few hundred keys; these bounds keep
    // a crafted file from turning a few bytes per entry into far more heap per entry.
    static final int MAX_TENSORS = 1 << 18;
    static final int MAX_METADATA_ENTRIES = 1 << 16;
    static final int MAX_DIMS = 4;
    static final long DEFAULT_ALIGNMENT = 32;

    private static final byte[] MAGIC = {0x47, 0x47, 0x55, 0x46};
    // Key length, a one-byte key, value type and the smallest value.
    private static final int MIN_METADATA_ENTRY_BYTES = 8 + 1 + 4 + 1;
    // Name length, dimension count, type and offset, for an unnamed zero-dimension tensor.
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    private static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";
    private static final String ALIGNMENT_KEY = "general.alignment";

    private final GgufInput input;
    private final Map<String, Object> scalars = new LinkedHashMap<>();
    private final Map<String, Long> arrayLengths = new LinkedHashMap<>();
    private final Set<String> keys = new HashSet<>();
    private final List<GgufEntry> entries = new ArrayList<>();
    private long retainedStringBytes;

    private GgufReader(GgufInput input) {
        this.input = input;
    }

    /**
     * Reads the metadata of the GGUF file at {@code file}.
     *
     * @throws GgufFormatException if the file is not a well-formed GGUF file
     * @throws IOException if the file cannot be read
     */
    public static GgufMetadata read(Path file) throws IOException {
        requireNonNull(file, "file is null");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(channel, channel.size());
        }
    }

    /**
     * Reads the metadata of a GGUF file from {@code channel}, whose first {@code size} bytes are
     * the file. The channel's position is moved; it is not closed.
     *
     * @throws GgufFormatException if the bytes are not a well-formed GGUF file
     * @throws IOException if the channel cannot be read
     */
    public static GgufMetadata read(SeekableByteChannel channel, long size) throws IOException {
        requireNonNull(channel, "channel is null");
        return MetadataInterpreter.interpret(new GgufReader(new GgufInput(channel, size)).parse());
    }

    /**
     * Where each metadata entry of the GGUF file at {@code file} lies, in file order, so that
     * entries can be copied into another file byte for byte (a vocabulary of 128,000 tokens
     * among them) without being held in memory. The whole file is checked as {@link #read} does.
     *
     * @throws GgufFormatException if the file is not a well-formed GGUF file
     * @throws IOException if the file cannot be read
     */
    public static List<GgufEntry> entries(Path file) throws IOException {
        requireNonNull(file, "file is null");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            GgufReader reader = new GgufReader(new GgufInput(channel, channel.size()));
            reader.parse();
            return List.copyOf(reader.entries);
        }
    }

    private ParsedGguf parse() throws IOException {
        checkMagic();
        int version = readVersion();
        long tensorCount = input.readLong("the tensor count");
        long entryCount = input.readLong("the metadata entry count");
        checkCounts(tensorCount, entryCount);
        for (int i = 0; i < entryCount; i++) {
            readEntry(i);
        }
        long alignment = alignment();
        List<TensorInfo> tensors = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tensorCount; i++) {
            tensors.add(readTensorInfo(i, names, alignment));
        }
        // As in ggml, a file without tensors needs no padding after its metadata.
        long dataOffset = tensors.isEmpty() ? input.position() : alignUp(input.position(), alignment);
        for (TensorInfo tensor : tensors) {
            checkDataInFile(tensor, dataOffset);
        }
        return new ParsedGguf(version, scalars, arrayLengths, tensors, alignment, dataOffset, input.size());
    }

    private void checkMagic() throws IOException {
        byte[] magic = input.readBytes(MAGIC.length, "the magic");
        if (!Arrays.equals(magic, MAGIC)) {
            throw new GgufFormatException("not a GGUF file: bad magic 0x%s (expected 0x%s, \"GGUF\")"
                    .formatted(HexFormat.of().withUpperCase().formatHex(magic), HexFormat.of().withUpperCase().formatHex(MAGIC)));
        }
    }

    private int readVersion() throws IOException {
        int version = input.readInt("the version");
        if (version == 2 || version == 3) {
            return version;
        }
        if (version == 1) {
            throw new GgufFormatException(
                    "unsupported GGUF version 1: the format is obsolete; convert the model again with a current llama.cpp");
        }
        // ggml's own test: a small version read with the wrong byte order has zero low bits.
        if (version != 0 && (version & 0xFFFF) == 0) {
            throw new GgufFormatException("unsupported GGUF version %s: the file looks big-endian (version %d byte-swapped), which is not supported"
                    .formatted(Integer.toUnsignedString(version), Integer.reverseBytes(version)));
        }
        throw new GgufFormatException("unsupported GGUF version %s (supported: 2 and 3)".formatted(Integer.toUnsignedString(version)));
    }

    private void checkCounts(long tensorCount, long entryCount) {
        if (Long.compareUnsigned(tensorCount, MAX_TENSORS) > 0) {
            throw new GgufFormatException("corrupt GGUF: the header declares %s tensors, more than the %d a model may have"
                    .formatted(Long.toUnsignedString(tensorCount), MAX_TENSORS));
        }
        if (Long.compareUnsigned(entryCount, MAX_METADATA_ENTRIES) > 0) {
            throw new GgufFormatException("corrupt GGUF: the header declares %s metadata entries, more than the %d a model may have"
                    .formatted(Long.toUnsignedString(entryCount), MAX_METADATA_ENTRIES));
        }
        long minimum = tensorCount * MIN_TENSOR_INFO_BYTES + entryCount * MIN_METADATA_ENTRY_BYTES;
        if (minimum > input.remaining()) {
            throw new GgufFormatException(
                    "truncated GGUF: the header declares %d tensors and %d metadata entries, which need at least %d bytes at offset %d but the file has %d"
                            .formatted(tensorCount, entryCount, minimum, input.position(), input.size()));
        }
    }

    private void readEntry(int index) throws IOException {
        String key = readKey(index);
        if (!keys.add(key)) {
            throw new GgufFormatException("corrupt GGUF: metadata key %s appears twice (again as entry %d)".formatted(quote(key), index));
        }
        long start = input.position();
        long typeId = Integer.toUnsignedLong(input.readInt("the value type of metadata " + quote(key)));
        GgufValueType type = GgufValueType.find(typeId).orElseThrow(() -> new GgufFormatException(
                "corrupt GGUF: unknown metadata value type %d for key %s".formatted(typeId, quote(key))));
        if (type == GgufValueType.ARRAY) {
            arrayLengths.put(key, walkArray("array " + quote(key), 1));
        } else {
            scalars.put(key, readScalar(type, key));
        }
        entries.add(new GgufEntry(key, start, input.position() - start));
    }

    private String readKey(int index) throws IOException {
        String what = "metadata key " + index;
        long length = input.readLong("the length of " + what);
        if (length == 0) {
            throw new GgufFormatException("corrupt GGUF: %s is empty".formatted(what));
        }
        if (length < 0 || length > MAX_KEY_BYTES) {
            throw new GgufFormatException("corrupt GGUF: %s is %s bytes long, more than the %d allowed"
                    .formatted(what, Long.toUnsignedString(length), MAX_KEY_BYTES));
        }
        return new String(input.readBytes((int) length, what), UTF_8);
    }

    private Object readScalar(GgufValueType type, String key) throws IOException {
        String what = "the value of metadata " + quote(key);
        return switch (type) {
            case UINT8 -> Integer.valueOf(Byte.toUnsignedInt(input.readByte(what)));
            case INT8 -> Integer.valueOf(input.readByte(what));
            case UINT16 -> Integer.valueOf(Short.toUnsignedInt(input.readShort(what)));
            case INT16 -> Integer.valueOf(input.readShort(what));
            case UINT32 -> Long.valueOf(Integer.toUnsignedLong(input.readInt(what)));
            case INT32 -> Integer.valueOf(input.readInt(what));
            case FLOAT32 -> Float.valueOf(Float.intBitsToFloat(input.readInt(what)));
            case BOOL -> readBoolean(key, what);
            case STRING -> readString(key, what);
            case UINT64 -> unsigned(input.readLong(what));
            case INT64 -> Long.valueOf(input.readLong(what));
            case FLOAT64 -> Double.valueOf(Double.longBitsToDouble(input.readLong(what)));
            case ARRAY -> throw new IllegalArgumentException("arrays are walked, not read as scalars");
        };
    }

    private Boolean readBoolean(String key, String what) throws IOException {
        byte value = input.readByte(what);
        if (value != 0 && value != 1) {
            throw new GgufFormatException("corrupt GGUF: boolean metadata %s is stored as %d; only 0 and 1 are valid"
                    .formatted(quote(key), Byte.toUnsignedInt(value)));
        }
        return value == 1;
    }

    private static Object unsigned(long value) {
        return value >= 0 ? (Object) value : new BigInteger(Long.toUnsignedString(value));
    }

    private String readString(String key, String what) throws IOException {
        long length = input.readLong("the length of " + what);
        input.require(length, what);
        int limit = key.equals(CHAT_TEMPLATE_KEY) || key.startsWith(CHAT_TEMPLATE_KEY + ".")
                ? MAX_CHAT_TEMPLATE_BYTES : MAX_STRING_BYTES;
        int kept = (int) Math.min(length, limit);
        if (retainedStringBytes + kept > MAX_RETAINED_STRING_BYTES) {
            throw new GgufFormatException("corrupt GGUF: metadata strings up to %s take more than the %d bytes a model's metadata may"
                    .formatted(quote(key), MAX_RETAINED_STRING_BYTES));
        }
        retainedStringBytes += kept;
        byte[] bytes = input.readBytes(kept, what);
        input.skip(length - kept, what);
        return new String(bytes, 0, kept < length ? completeUtf8Prefix(bytes) : bytes.length, UTF_8);
    }

    /** The length of {@code bytes} without a UTF-8 sequence that a cut left incomplete at its end. */
    private static int completeUtf8Prefix(byte[] bytes) {
        int end = bytes.length;
        int start = end - 1;
        while (start > 0 && start > end - 4 && (bytes[start] & 0xC0) == 0x80) {
            start--;
        }
        if (start < 0) {
            return 0;
        }
        int lead = bytes[start] & 0xFF;
        int sequenceLength = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return start + sequenceLength > end ? start : end;
    }

    /**
     * Steps over an array value, checking every length in it, and returns its element count.
     * Fixed-size elements are skipped in one step, so walking costs at most one step per
     * string or nested array, each of which takes at least eight bytes of the file.
     */
    private long walkArray(String what, int depth) throws IOException {
        if (depth > MAX_ARRAY_DEPTH) {
            throw new GgufFormatException("corrupt GGUF: %s nests arrays more than %d deep".formatted(what, MAX_ARRAY_DEPTH));
        }
        long typeId = Integer.toUnsignedLong(input.readInt("the element type of " + what));
        GgufValueType type = GgufValueType.find(typeId).orElseThrow(() -> new GgufFormatException(
                "corrupt GGUF: unknown metadata value type %d for the elements of %s".formatted(typeId, what)));
        long count = input.readLong("the length of " + what);
        if (count < 0 || count > input.remaining() / type.minimumBytes()) {
            throw new GgufFormatException(
                    "truncated GGUF: %s declares %s %s elements, which need at least %d bytes each at offset %d but the file has %d"
                            .formatted(what, Long.toUnsignedString(count), type, type.minimumBytes(), input.position(), input.size()));
        }
        if (type.isFixedSize()) {
            input.skip(count * type.minimumBytes(), what);
        } else if (type == GgufValueType.STRING) {
            for (long i = 0; i < count; i++) {
                input.skip(input.readLong(what), what);
            }
        } else {
            for (long i = 0; i < count; i++) {
                walkArray(what, depth + 1);
            }
        }
        return count;
    }

    private long alignment() {
        if (arrayLengths.containsKey(ALIGNMENT_KEY)) {
            throw new GgufFormatException("corrupt GGUF: %s is an array but must be a uint32".formatted(ALIGNMENT_KEY));
        }
        Object value = scalars.get(ALIGNMENT_KEY);
        if (value == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (!(value instanceof Long || value instanceof Integer)) {
            throw new GgufFormatException("corrupt GGUF: %s must be a uint32 but is a %s"
                    .formatted(ALIGNMENT_KEY, value.getClass().getSimpleName()));
        }
        long alignment = ((Number) value).longValue();
        if (alignment <= 0 || alignment > 1L << 31 || Long.bitCount(alignment) != 1) {
            throw new GgufFormatException("corrupt GGUF: %s is %d, which is not a power of two that fits a uint32"
                    .formatted(ALIGNMENT_KEY, alignment));
        }
        return alignment;
    }

    private TensorInfo readTensorInfo(int index, Set<String> names, long alignment) throws IOException {
        String name = readTensorName(index);
        String tensor = "tensor " + quote(name);
        if (!names.add(name)) {
            throw new GgufFormatException("corrupt GGUF: two tensors are named %s (the second is tensor %d)".formatted(quote(name), index));
        }
        long dimensionCount = Integer.toUnsignedLong(input.readInt("the dimension count of " + tensor));
        if (dimensionCount > MAX_DIMS) {
            throw new GgufFormatException("corrupt GGUF: %s has %d dimensions, more than the %d ggml supports"
                    .formatted(tensor, dimensionCount, MAX_DIMS));
        }
        List<Long> dimensions = new ArrayList<>((int) dimensionCount);
        for (int d = 0; d < dimensionCount; d++) {
            long dimension = input.readLong("the dimensions of " + tensor);
            if (dimension <= 0) {
                throw new GgufFormatException("corrupt GGUF: %s dimension %d is %s; dimensions must be between 1 and 2^63-1"
                        .formatted(tensor, d, Long.toUnsignedString(dimension)));
            }
            dimensions.add(dimension);
        }
        long elements = elementCount(tensor, dimensions);
        long typeId = Integer.toUnsignedLong(input.readInt("the type of " + tensor));
        GgmlType type = GgmlType.find(typeId).orElseThrow(() -> new GgufFormatException(
                "corrupt GGUF: %s has unknown ggml type %d".formatted(tensor, typeId)));
        long rowLength = dimensions.isEmpty() ? 1 : dimensions.getFirst();
        if (rowLength % type.blockSize() != 0) {
            throw new GgufFormatException("corrupt GGUF: %s has rows of %d elements, not a whole number of %d-element %s blocks"
                    .formatted(tensor, rowLength, type.blockSize(), type));
        }
        if (elements / type.blockSize() > Long.MAX_VALUE / type.bytesPerBlock()) {
            throw new GgufFormatException("corrupt GGUF: %s %s would take more than 2^63 bytes".formatted(tensor, dimensions));
        }
        long offset = input.readLong("the data offset of " + tensor);
        if (offset < 0) {
            throw new GgufFormatException("corrupt GGUF: %s data offset %s lies beyond the end of the file (%d bytes)"
                    .formatted(tensor, Long.toUnsignedString(offset), input.size()));
        }
        if (offset % alignment != 0) {
            throw new GgufFormatException("corrupt GGUF: %s data offset %d is not a multiple of the alignment %d"
                    .formatted(tensor, offset, alignment));
        }
        return new TensorInfo(name, dimensions, type, offset, type.bytesFor(elements));
    }

    private String readTensorName(int index) throws IOException {
        String what = "the name of tensor " + index;
        long length = input.readLong("the length of " + what);
        if (length < 0 || length > MAX_TENSOR_NAME_BYTES) {
            throw new GgufFormatException("corrupt GGUF: %s is %s bytes long, more than the %d allowed"
                    .formatted(what, Long.toUnsignedString(length), MAX_TENSOR_NAME_BYTES));
        }
        return new String(input.readBytes((int) length, what), UTF_8);
    }

    private static long elementCount(String tensor, List<Long> dimensions) {
        long elements = 1;
        for (long dimension : dimensions) {
            if (elements > Long.MAX_VALUE / dimension) {
                throw new GgufFormatException("corrupt GGUF: %s has dimensions %s, whose product overflows 64 bits"
                        .formatted(tensor, dimensions));
            }
            elements *= dimension;
        }
        return elements;
    }

    private static long alignUp(long position, long alignment) {
        return (position + alignment - 1) & -alignment;
    }

    private void checkDataInFile(TensorInfo tensor, long dataOffset) {
        long available = input.size() - dataOffset;
        if (tensor.offset() > available || tensor.sizeBytes() > available - tensor.offset()) {
            BigInteger end = BigInteger.valueOf(dataOffset).add(BigInteger.valueOf(tensor.offset())).add(BigInteger.valueOf(tensor.sizeBytes()));
            throw new GgufFormatException(
                    "corrupt GGUF: tensor %s data ends at byte %s beyond the end of the file (%d bytes); the file is truncated or corrupt"
                            .formatted(quote(tensor.name()), end, input.size()));
        }
    }

    /** A name from the file, fit for an error message: quoted, printable, and not too long. */
    static String quote(String text) {
        StringBuilder quoted = new StringBuilder("'");
        int shown = Math.min(text.length(), 120);
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            quoted.append(Character.isISOControl(c) ? '?' : c);
        }
        if (shown < text.length()) {
            quoted.append("...");
        }
        return quoted.append('\'').toString();
    }
}
