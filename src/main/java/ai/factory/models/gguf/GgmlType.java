package ai.factory.models.gguf;

import java.util.Optional;

/**
 * The ggml tensor element types a GGUF file may name, with their ids as stored in the file and
 * their storage layout: elements come in blocks of {@link #blockSize()} that take
 * {@link #bytesPerBlock()} bytes. The layouts follow ggml's {@code type_traits} table and the
 * {@code block_*} structs of {@code ggml-common.h} (with {@code QK_K = 256}); ids that ggml
 * retired (4, 5, 31 to 33, 36 to 38) are absent because no current file may use them.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17),
    NVFP4(40, 64, 36),
    Q1_0(41, 128, 18),
    Q2_0(42, 64, 18);

    private static final GgmlType[] BY_ID = indexById();

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The id stored in a GGUF tensor info. */
    public int id() {
        return id;
    }

    /** How many elements one block holds; tensor rows must be a whole number of blocks. */
    public int blockSize() {
        return blockSize;
    }

    /** How many bytes one block of {@link #blockSize()} elements takes. */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** Whether elements are stored in multi-element quantization blocks. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * The bytes {@code elements} elements of this type take.
     *
     * @throws IllegalArgumentException if {@code elements} is negative or not a whole number of blocks
     * @throws ArithmeticException if the size does not fit in a {@code long}
     */
    public long bytesFor(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    "%d elements of %s are not a whole number of %d-element blocks".formatted(elements, this, blockSize));
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /**
     * The type with the given file id.
     *
     * @throws GgufFormatException if no ggml type has that id
     */
    public static GgmlType fromId(long id) {
        return find(id).orElseThrow(() -> new GgufFormatException("unknown ggml tensor type " + id));
    }

    /** The type with the given file id, if there is one; ids are unsigned in the file, hence the {@code long}. */
    public static Optional<GgmlType> find(long id) {
        if (id < 0 || id >= BY_ID.length) {
            return Optional.empty();
        }
        return Optional.ofNullable(BY_ID[(int) id]);
    }

    private static GgmlType[] indexById() {
        int max = 0;
        for (GgmlType type : values()) {
            max = Math.max(max, type.id);
        }
        GgmlType[] byId = new GgmlType[max + 1];
        for (GgmlType type : values()) {
            byId[type.id] = type;
        }
        return byId;
    }
}
