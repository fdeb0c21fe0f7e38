package ai.factory.models.gguf;

import static ai.factory.models.gguf.GgufBuilder.ARRAY;
import static ai.factory.models.gguf.GgufBuilder.BOOL;
import static ai.factory.models.gguf.GgufBuilder.STRING;
import static ai.factory.models.gguf.GgufBuilder.UINT8;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** Files built to be wrong in one way each, and the specific error each one gets. */
class GgufCorruptionTest {
    private static final long TWO_TO_THE_62 = 1L << 62;

    @Test
    void rejectsAFileWithoutTheGgufMagic() {
        byte[] elf = GgufBuilder.minimalModel().magic((byte) 0x7F, (byte) 'E', (byte) 'L', (byte) 'F').build();

        assertRejected(elf).hasMessage("not a GGUF file: bad magic 0x7F454C46 (expected 0x47475546, \"GGUF\")");
    }

    @Test
    void rejectsTheObsoleteVersion1() {
        assertRejected(GgufBuilder.minimalModel().version(1).build())
                .hasMessageStartingWith("unsupported GGUF version 1: the format is obsolete");
    }

    @Test
    void rejectsAVersionFromTheFuture() {
        assertRejected(GgufBuilder.minimalModel().version(99).build())
                .hasMessage("unsupported GGUF version 99 (supported: 2 and 3)");
    }

    @Test
    void rejectsABigEndianFileNamingItAsSuch() {
        assertRejected(GgufBuilder.minimalModel().version(Integer.reverseBytes(3)).build())
                .hasMessageContaining("unsupported GGUF version 50331648: the file looks big-endian");
    }

    @Test
    void readsVersion2WhichHasTheSameLayoutAsVersion3() throws IOException {
        assertThat(read(GgufBuilder.minimalModel().version(2).build()).version()).isEqualTo(2);
    }

    @Test
    void rejectsAStringLengthOfTwoToThe62WithoutAllocatingIt() {
        byte[] file = GgufBuilder.minimalModel()
                .entry("general.name", STRING, out -> {
                    out.u64(TWO_TO_THE_62);
                    out.bytes("tiny".getBytes(UTF_8));
                })
                .build();

        assertRejected(file).hasMessageMatching(
                "truncated GGUF: the value of metadata 'general.name' needs 4611686018427387904 bytes at offset \\d+ but the file has \\d+");
    }

    @Test
    void rejectsAStringLengthAbove2ToThe63ThatWouldBeNegativeAsASignedLong() {
        byte[] file = GgufBuilder.minimalModel().entry("general.name", STRING, out -> out.u64(-2)).build();

        assertRejected(file).hasMessageContaining("needs 18446744073709551614 bytes");
    }

    @Test
    void rejectsAnArrayCountOfTwoToThe62WithoutWalkingIt() {
        byte[] file = GgufBuilder.minimalModel()
                .entry("tokenizer.ggml.tokens", ARRAY, out -> {
                    out.u32(STRING);
                    out.u64(TWO_TO_THE_62);
                })
                .build();

        assertRejected(file).hasMessageStartingWith(
                "truncated GGUF: array 'tokenizer.ggml.tokens' declares 4611686018427387904 STRING elements, which need at least 8 bytes each");
    }

    @Test
    void rejectsAKeyLongerThan64KiB() {
        byte[] file = GgufBuilder.minimalModel().string("k".repeat(65_537), "v").build();

        assertRejected(file).hasMessage("corrupt GGUF: metadata key 1 is 65537 bytes long, more than the 65536 allowed");
    }

    @Test
    void rejectsAnEmptyKey() {
        assertRejected(GgufBuilder.minimalModel().string("", "v").build()).hasMessage("corrupt GGUF: metadata key 1 is empty");
    }

    @Test
    void rejectsAKeyThatAppearsTwice() {
        byte[] file = GgufBuilder.minimalModel().string("general.architecture", "gemma").build();

        assertRejected(file).hasMessage("corrupt GGUF: metadata key 'general.architecture' appears twice (again as entry 1)");
    }

    @Test
    void rejectsAnUnknownMetadataValueType() {
        byte[] file = GgufBuilder.minimalModel().entry("x", 99, out -> out.u32(0)).build();

        assertRejected(file).hasMessage("corrupt GGUF: unknown metadata value type 99 for key 'x'");
    }

    @Test
    void rejectsAnUnknownArrayElementType() {
        byte[] file = GgufBuilder.minimalModel().entry("x", ARRAY, out -> {
            out.u32(13);
            out.u64(1);
        }).build();

        assertRejected(file).hasMessage("corrupt GGUF: unknown metadata value type 13 for the elements of array 'x'");
    }

    @Test
    void rejectsABooleanStoredAsAnythingButZeroOrOne() {
        byte[] file = GgufBuilder.minimalModel().entry("general.flag", BOOL, out -> out.u8(7)).build();

        assertRejected(file).hasMessage("corrupt GGUF: boolean metadata 'general.flag' is stored as 7; only 0 and 1 are valid");
    }

    @Test
    void rejectsArraysNestedDeeperThanTheCap() {
        byte[] file = GgufBuilder.minimalModel().entry("deep", ARRAY, nestedArrays(GgufReader.MAX_ARRAY_DEPTH + 1)).build();

        assertRejected(file).hasMessage("corrupt GGUF: array 'deep' nests arrays more than 8 deep");
    }

    @Test
    void walksArraysNestedUpToTheCap() throws IOException {
        byte[] file = GgufBuilder.minimalModel().entry("deep", ARRAY, nestedArrays(GgufReader.MAX_ARRAY_DEPTH)).build();

        assertThat(read(file).arrayLengths()).containsEntry("deep", 1L);
    }

    @Test
    void rejectsMoreMetadataEntriesThanTheRestOfTheFileCouldHold() {
        byte[] file = GgufBuilder.minimalModel().declaredEntryCount(60_000).build();

        assertRejected(file).hasMessageStartingWith(
                "truncated GGUF: the header declares 1 tensors and 60000 metadata entries, which need at least 840024 bytes at offset 24");
    }

    @Test
    void rejectsAnAbsurdTensorCountBeforeReadingAnyEntry() {
        byte[] file = GgufBuilder.minimalModel().declaredTensorCount(-1).build();

        assertRejected(file).hasMessage(
                "corrupt GGUF: the header declares 18446744073709551615 tensors, more than the 262144 a model may have");
    }

    @Test
    void rejectsATensorWithMoreThanFourDimensions() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").tensorWithDimensionCount("w", 9).build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'w' has 9 dimensions, more than the 4 ggml supports");
    }

    @Test
    void rejectsAnUnknownTensorType() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").tensor("w", 31, 0, 32).dataSize(64).build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'w' has unknown ggml type 31");
    }

    @Test
    void rejectsAZeroDimension() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").tensor("w", 0, 0, 8, 0).build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'w' dimension 1 is 0; dimensions must be between 1 and 2^63-1");
    }

    @Test
    void rejectsANegativeDimension() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").tensor("w", 0, 0, -8).build();

        assertRejected(file).hasMessage(
                "corrupt GGUF: tensor 'w' dimension 0 is 18446744073709551608; dimensions must be between 1 and 2^63-1");
    }

    @Test
    void rejectsDimensionsWhoseProductOverflows() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama")
                .tensor("w", 0, 0, 1L << 32, 1L << 32)
                .build();

        assertRejected(file).hasMessage(
                "corrupt GGUF: tensor 'w' has dimensions [4294967296, 4294967296], whose product overflows 64 bits");
    }

    @Test
    void rejectsATensorWhoseByteSizeOverflowsThoughItsElementCountFits() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama")
                .tensor("w", GgmlType.F64.id(), 0, 1L << 31, 1L << 31)
                .build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'w' [2147483648, 2147483648] would take more than 2^63 bytes");
    }

    @Test
    void rejectsRowsThatAreNotAWholeNumberOfBlocks() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama")
                .tensor("w", GgmlType.Q4_K.id(), 0, 100, 256)
                .dataSize(1 << 16)
                .build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'w' has rows of 100 elements, not a whole number of 256-element Q4_K blocks");
    }

    @Test
    void rejectsATensorWhoseDataLiesBeyondTheEndOfTheFile() {
        byte[] file = GgufBuilder.minimalModel().tensor("far", GgmlType.F32.id(), 1L << 40, 8).build();

        assertRejected(file).hasMessageMatching(
                "corrupt GGUF: tensor 'far' data ends at byte \\d+ beyond the end of the file \\(\\d+ bytes\\); the file is truncated or corrupt");
    }

    @Test
    void rejectsATensorOffsetAbove2ToThe63() {
        byte[] file = GgufBuilder.minimalModel().tensor("far", GgmlType.F32.id(), Long.MIN_VALUE, 8).build();

        assertRejected(file).hasMessageMatching(
                "corrupt GGUF: tensor 'far' data offset 9223372036854775808 lies beyond the end of the file \\(\\d+ bytes\\)");
    }

    @Test
    void rejectsAMisalignedTensorOffset() {
        byte[] file = GgufBuilder.minimalModel().tensor("odd", GgmlType.F32.id(), 33, 1).dataSize(128).build();

        assertRejected(file).hasMessage("corrupt GGUF: tensor 'odd' data offset 33 is not a multiple of the alignment 32");
    }

    @Test
    void rejectsAnAlignmentThatIsNotAPowerOfTwo() {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").alignment(48)
                .tensor("w", GgmlType.F32, 12)
                .build();

        assertRejected(file).hasMessage("corrupt GGUF: general.alignment is 48, which is not a power of two that fits a uint32");
    }

    @Test
    void rejectsAZeroAlignment() {
        byte[] file = GgufBuilder.minimalModel().uint32("general.alignment", 0).build();

        assertRejected(file).hasMessageContaining("general.alignment is 0, which is not a power of two");
    }

    @Test
    void rejectsAnAlignmentOfTheWrongType() {
        byte[] file = GgufBuilder.minimalModel().string("general.alignment", "32").build();

        assertRejected(file).hasMessage("corrupt GGUF: general.alignment must be a uint32 but is a String");
    }

    @Test
    void placesTheDataSectionAtTheDeclaredAlignment() throws IOException {
        byte[] file = new GgufBuilder().string("general.architecture", "llama").alignment(256)
                .tensor("a", GgmlType.F32, 3)
                .tensor("b", GgmlType.F32, 3)
                .build();

        GgufMetadata metadata = read(file);

        assertThat(metadata.alignment()).isEqualTo(256);
        assertThat(metadata.tensorDataOffset() % 256).isZero();
        assertThat(metadata.tensors()).extracting(TensorInfo::offset).containsExactly(0L, 256L);
    }

    @Test
    void rejectsTwoTensorsWithTheSameName() {
        byte[] file = GgufBuilder.minimalModel().tensor("output_norm.weight", GgmlType.F32, 8).build();

        assertRejected(file).hasMessage("corrupt GGUF: two tensors are named 'output_norm.weight' (the second is tensor 1)");
    }

    @Test
    void rejectsAFileWithoutAnArchitecture() {
        byte[] file = new GgufBuilder().string("general.name", "nameless").build();

        assertRejected(file).hasMessageContaining("missing general.architecture");
    }

    @Test
    void rejectsAnArchitectureThatIsNotAString() {
        byte[] file = new GgufBuilder().uint32("general.architecture", 7).build();

        assertRejected(file).hasMessage("corrupt GGUF: metadata 'general.architecture' must be a string but is a Long");
    }

    @Test
    void rejectsAHyperparameterOfTheWrongKind() {
        byte[] file = GgufBuilder.minimalModel().string("llama.block_count", "many").build();

        assertRejected(file).hasMessage("corrupt GGUF: metadata 'llama.block_count' must be an integer below 2^63 but is a String");
    }

    @Test
    void rejectsAHyperparameterTooLargeForItsField() {
        byte[] file = GgufBuilder.minimalModel().uint64("llama.embedding_length", 1L << 40).build();

        assertRejected(file).hasMessage("corrupt GGUF: metadata 'llama.embedding_length' is 1099511627776, outside 0 to 2147483647");
    }

    @Test
    void quotesHostileKeysPrintablyAndBriefly() {
        byte[] file = GgufBuilder.minimalModel().entry("\u0007evil\n" + "x".repeat(500), 99, out -> out.u32(0)).build();

        assertRejected(file).hasMessageStartingWith("corrupt GGUF: unknown metadata value type 99 for key '?evil?xxx")
                .hasMessageEndingWith("xxx...'")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
    }

    private static Consumer<GgufBuilder.Out> nestedArrays(int depth) {
        return out -> {
            for (int level = 1; level < depth; level++) {
                out.u32(ARRAY);
                out.u64(1);
            }
            out.u32(UINT8);
            out.u64(1);
            out.u8(42);
        };
    }

    static GgufMetadata read(byte[] file) throws IOException {
        return GgufReader.read(new ByteArrayChannel(file), file.length);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(byte[] file) {
        return assertThatThrownBy(() -> read(file)).isInstanceOf(GgufFormatException.class);
    }
}
