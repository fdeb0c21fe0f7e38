package ai.factory.models.gguf;

import static ai.factory.models.gguf.GgufBuilder.ARRAY;
import static ai.factory.models.gguf.GgufBuilder.INT32;
import static ai.factory.models.gguf.GgufCorruptionTest.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.io.IOException;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How the keys of a well-formed file become {@link GgufMetadata} fields. */
class GgufMetadataTest {
    @ParameterizedTest(name = "file type {0} is {1}")
    @CsvSource({"0, F32", "1, F16", "2, Q4_0", "7, Q8_0", "15, Q4_K_M", "18, Q6_K", "21, Q2_K_S", "30, IQ4_XS",
            "32, BF16", "36, TQ1_0", "38, MXFP4_MOE", "4, unknown(4)", "99, unknown(99)"})
    void namesTheQuantizationAfterLlamaCppsFileTypes(long fileType, String name) throws IOException {
        byte[] file = GgufBuilder.minimalModel().uint32("general.file_type", fileType).build();

        assertThat(read(file).quantization()).isEqualTo(name);
    }

    @Test
    void namesTheQuantizationAfterTheTensorTypeTakingTheMostBytesWithoutAFileType() throws IOException {
        byte[] file = GgufBuilder.minimalModel()
                .tensor("blk.0.attn_q.weight", GgmlType.Q8_0, 256, 4)
                .tensor("blk.0.ffn_down.weight", GgmlType.Q4_K, 256, 4)
                .build();

        assertThat(read(file).quantization()).isEqualTo("Q8_0");
    }

    @Test
    void countsParametersFromTheTensorsUnlessTheFileDeclaresThem() throws IOException {
        GgufBuilder model = GgufBuilder.minimalModel().tensor("token_embd.weight", GgmlType.Q4_0, 64, 10);

        assertThat(read(model.build()).parameterCount()).isEqualTo(8 + 640);
        assertThat(read(model.uint64("general.parameter_count", 7_000_000_000L).build()).parameterCount()).isEqualTo(7_000_000_000L);
    }

    @Test
    void readsArchitectureKeysUnderTheArchitecturesOwnPrefix() throws IOException {
        byte[] file = new GgufBuilder()
                .string("general.architecture", "qwen2")
                .uint64("qwen2.context_length", 32_768)
                .uint32("qwen2.block_count", 24)
                .uint32("qwen2.embedding_length", 896)
                .uint32("qwen2.attention.head_count", 14)
                .uint32("qwen2.attention.head_count_kv", 2)
                .uint32("llama.block_count", 99)
                .build();

        GgufMetadata metadata = read(file);

        assertThat(metadata.architecture()).isEqualTo("qwen2");
        assertThat(metadata.contextLength()).isEqualTo(32_768);
        assertThat(metadata.blockCount()).isEqualTo(24);
        assertThat(metadata.embeddingLength()).isEqualTo(896);
        assertThat(metadata.headCount()).isEqualTo(14);
        assertThat(metadata.headCountKv()).isEqualTo(2);
    }

    @Test
    void defaultsTheKeyValueHeadsToTheAttentionHeads() throws IOException {
        byte[] file = GgufBuilder.minimalModel().uint32("llama.attention.head_count", 32).build();

        assertThat(read(file).headCountKv()).isEqualTo(32);
    }

    @Test
    void leavesPerLayerValuesStoredAsArraysUninterpreted() throws IOException {
        byte[] file = GgufBuilder.minimalModel()
                .uint32("llama.attention.head_count", 32)
                .entry("llama.attention.head_count_kv", ARRAY, out -> {
                    out.u32(INT32);
                    out.u64(2);
                    out.u32(8);
                    out.u32(4);
                })
                .build();

        GgufMetadata metadata = read(file);

        assertThat(metadata.headCountKv()).isZero();
        assertThat(metadata.arrayLengths()).containsEntry("llama.attention.head_count_kv", 2L);
    }

    @Test
    void takesTheVocabularySizeFromTheModelWhenThereIsNoTokenList() throws IOException {
        byte[] file = GgufBuilder.minimalModel().uint32("llama.vocab_size", 128_256).build();

        assertThat(read(file).vocabularySize()).isEqualTo(128_256);
    }

    @Test
    void prefersTheTokenListLengthForTheVocabularySize() throws IOException {
        byte[] file = GgufBuilder.minimalModel()
                .uint32("llama.vocab_size", 5)
                .stringArray("tokenizer.ggml.tokens", List.of("<s>", "</s>", "a"))
                .build();

        assertThat(read(file).vocabularySize()).isEqualTo(3);
    }

    @Test
    void leavesMissingOptionalKeysAtZeroOrNullAndOutOfTheSummary() throws IOException {
        GgufMetadata metadata = read(new GgufBuilder().string("general.architecture", "bert").build());

        assertThat(metadata.name()).isNull();
        assertThat(metadata.tokenizerModel()).isNull();
        assertThat(metadata.bosTokenId()).isNull();
        assertThat(metadata.contextLength()).isZero();
        assertThat(metadata.quantization()).isEqualTo("unknown");
        assertThat(metadata.tensors()).isEmpty();
        assertThat(metadata.summary()).doesNotContainKeys("name", "tokenizerModel", "chatTemplate", "bosTokenId", "eosTokenId")
                .containsEntry("architecture", "bert");
    }

    @Test
    void keepsAChatTemplateWholeAndInTheSummary() throws IOException {
        String template = "{% for message in messages %}{{ message['content'] }}{% endfor %}".repeat(2_000);
        byte[] file = GgufBuilder.minimalModel().string("tokenizer.chat_template", template).build();

        GgufMetadata metadata = read(file);

        assertThat(template.length()).isGreaterThan(GgufReader.MAX_STRING_BYTES);
        assertThat(metadata.chatTemplate()).isEqualTo(template);
        assertThat(metadata.summary()).containsEntry("chatTemplate", template);
    }

    @Test
    void cutsLongStringsAt64KiBWithoutSplittingACharacter() throws IOException {
        String description = "x" + "é".repeat(40_000);
        byte[] file = GgufBuilder.minimalModel().string("general.description", description).uint32("after", 1).build();

        GgufMetadata metadata = read(file);

        assertThat((String) metadata.scalarMetadata().get("general.description"))
                .hasSize(1 + (GgufReader.MAX_STRING_BYTES - 1) / 2)
                .isEqualTo(description.substring(0, 1 + (GgufReader.MAX_STRING_BYTES - 1) / 2));
        assertThat(metadata.scalarMetadata()).containsEntry("after", 1L);
    }

    @Test
    void keepsUnsigned64BitValuesAbove2ToThe63AsBigIntegers() throws IOException {
        byte[] file = GgufBuilder.minimalModel().uint64("general.seed", -1).build();

        assertThat(read(file).scalarMetadata()).containsEntry("general.seed", new BigInteger("18446744073709551615"));
    }

    @Test
    void readsEveryScalarValueType() throws IOException {
        byte[] file = GgufBuilder.minimalModel()
                .entry("u8", 0, out -> out.u8(200))
                .entry("i8", 1, out -> out.u8(-3))
                .entry("u16", 2, out -> {
                    out.u8(0xFF);
                    out.u8(0xFF);
                })
                .entry("i16", 3, out -> {
                    out.u8(0xFE);
                    out.u8(0xFF);
                })
                .entry("i32", 5, out -> out.u32(-5))
                .float32("f32", 0.5f)
                .entry("bool", 7, out -> out.u8(1))
                .entry("i64", 11, out -> out.u64(-7))
                .entry("f64", 12, out -> out.u64(Double.doubleToLongBits(2.25)))
                .build();

        assertThat(read(file).scalarMetadata()).contains(
                entry("u8", 200), entry("i8", -3), entry("u16", 65_535), entry("i16", -2), entry("i32", -5),
                entry("f32", 0.5f), entry("bool", true), entry("i64", -7L), entry("f64", 2.25));
    }
}
