package ai.factory.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The ggml tensor types' ids and block layouts. */
class GgufTypeLayoutTest {
    @ParameterizedTest(name = "{0}: id {1}, {2} elements in {3} bytes")
    @CsvSource({"F32, 0, 1, 4", "F16, 1, 1, 2", "Q4_0, 2, 32, 18", "Q4_1, 3, 32, 20", "Q5_0, 6, 32, 22",
            "Q8_0, 8, 32, 34", "Q2_K, 10, 256, 84", "Q3_K, 11, 256, 110", "Q4_K, 12, 256, 144", "Q5_K, 13, 256, 176",
            "Q6_K, 14, 256, 210", "Q8_K, 15, 256, 292", "IQ2_XXS, 16, 256, 66", "IQ4_NL, 20, 32, 18",
            "IQ4_XS, 23, 256, 136", "I64, 27, 1, 8", "IQ1_M, 29, 256, 56", "BF16, 30, 1, 2", "TQ1_0, 34, 256, 54",
            "TQ2_0, 35, 256, 66", "MXFP4, 39, 32, 17"})
    void matchesGgmlsTypeTraits(GgmlType type, int id, int blockSize, int bytesPerBlock) {
        assertThat(GgmlType.fromId(id)).isEqualTo(type);
        assertThat(type.blockSize()).isEqualTo(blockSize);
        assertThat(type.bytesPerBlock()).isEqualTo(bytesPerBlock);
    }

    @Test
    void hasOneTypePerId() {
        assertThat(Arrays.stream(GgmlType.values()).map(GgmlType::id)).doesNotHaveDuplicates();
    }

    @Test
    void sizesWholeBlocks() {
        assertThat(GgmlType.Q8_0.bytesFor(4096L * 4096)).isEqualTo(4096L * 4096 / 32 * 34);
        assertThat(GgmlType.F16.bytesFor(3)).isEqualTo(6);
    }

    @Test
    void refusesToSizeAPartialBlock() {
        assertThatThrownBy(() -> GgmlType.Q4_K.bytesFor(100))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("100 elements of Q4_K are not a whole number of 256-element blocks");
    }

    @Test
    void rejectsIdsGgmlRetiredOrNeverDefined() {
        assertThat(GgmlType.find(4)).isEmpty();
        assertThat(GgmlType.find(31)).isEmpty();
        assertThat(GgmlType.find(-1)).isEmpty();
        assertThatThrownBy(() -> GgmlType.fromId(1000))
                .isInstanceOf(GgufFormatException.class)
                .hasMessage("unknown ggml tensor type 1000");
    }
}
