package ai.factory.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import ai.factory.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reads the real tiny Llama-2 test model, whole and cut short. */
class GgufReaderTest {
    private static final long FILE_SIZE = 1_750_560;

    private static Path model;

    @BeforeAll
    static void findModel() {
        Path models = Path.of(System.getProperty("factory.test.models", "../shared/models"));
        Assumptions.assumeTrue(Files.isDirectory(models), "test models folder " + models + " is absent");
        model = models.resolve("llama-2-tiny-random.gguf");
    }

    @Test
    void readsTheArchitectureAndHyperparametersOfTheTinyLlama() throws IOException {
        GgufMetadata metadata = GgufReader.read(model);

        assertThat(metadata.version()).isEqualTo(3);
        assertThat(metadata.architecture()).isEqualTo("llama");
        assertThat(metadata.name()).isEqualTo("LLaMA v2");
        assertThat(metadata.contextLength()).isEqualTo(4096);
        assertThat(metadata.blockCount()).isEqualTo(1);
        assertThat(metadata.embeddingLength()).isEqualTo(8);
        assertThat(metadata.headCount()).isEqualTo(2);
        assertThat(metadata.headCountKv()).isEqualTo(2);
        assertThat(metadata.quantization()).isEqualTo("F16");
        assertThat(metadata.parameterCount()).isEqualTo(513_048);
    }

    @Test
    void readsTheTokenizerWithoutKeepingTheVocabulary() throws IOException {
        GgufMetadata metadata = GgufReader.read(model);

        assertThat(metadata.tokenizerModel()).isEqualTo("llama");
        assertThat(metadata.vocabularySize()).isEqualTo(32_000);
        assertThat(metadata.bosTokenId()).isEqualTo(1);
        assertThat(metadata.eosTokenId()).isEqualTo(2);
        assertThat(metadata.chatTemplate()).isNull();
        assertThat(metadata.arrayLengths()).containsExactly(
                entry("tokenizer.ggml.tokens", 32_000L),
                entry("tokenizer.ggml.scores", 32_000L),
                entry("tokenizer.ggml.token_type", 32_000L));
        assertThat(metadata.scalarMetadata()).doesNotContainKeys(metadata.arrayLengths().keySet().toArray(String[]::new));
    }

    @Test
    void keepsEveryScalarKeyInFileOrderWithItsNaturalJavaType() throws IOException {
        GgufMetadata metadata = GgufReader.read(model);

        assertThat(metadata.scalarMetadata()).hasSize(15);
        assertThat(metadata.scalarMetadata().keySet()).startsWith("general.architecture", "general.name", "llama.context_length");
        assertThat(metadata.scalarMetadata())
                .containsEntry("llama.feed_forward_length", 32L)
                .containsEntry("llama.rope.dimension_count", 4L)
                .containsEntry("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .containsEntry("general.file_type", 1L)
                .containsEntry("tokenizer.ggml.unknown_token_id", 0L);
    }

    @Test
    void locatesEveryTensorInsideTheDataSection() throws IOException {
        GgufMetadata metadata = GgufReader.read(model);

        assertThat(metadata.tensorCount()).isEqualTo(12);
        assertThat(metadata.alignment()).isEqualTo(32);
        assertThat(metadata.tensorDataOffset()).isEqualTo(724_416);
        assertThat(metadata.fileSize()).isEqualTo(FILE_SIZE);
        assertThat(metadata.tensors().getFirst())
                .isEqualTo(new TensorInfo("token_embd.weight", List.of(8L, 32_000L), GgmlType.F16, 0, 512_000));
        assertThat(metadata.tensors().get(8))
                .isEqualTo(new TensorInfo("blk.0.attn_norm.weight", List.of(8L), GgmlType.F32, 514_048, 32));
        TensorInfo last = metadata.tensors().getLast();
        assertThat(last.name()).isEqualTo("output.weight");
        assertThat(metadata.tensorDataOffset() + last.offset() + last.sizeBytes()).isEqualTo(FILE_SIZE);
    }

    @Test
    void summarisesTheScalarFieldsInOrderWithoutNulls() throws IOException {
        GgufMetadata metadata = GgufReader.read(model);

        assertThat(metadata.summary()).containsExactly(
                entry("version", 3),
                entry("architecture", "llama"),
                entry("name", "LLaMA v2"),
                entry("parameterCount", 513_048L),
                entry("quantization", "F16"),
                entry("contextLength", 4096L),
                entry("blockCount", 1),
                entry("embeddingLength", 8),
                entry("headCount", 2),
                entry("headCountKv", 2),
                entry("tokenizerModel", "llama"),
                entry("vocabularySize", 32_000),
                entry("bosTokenId", 1),
                entry("eosTokenId", 2),
                entry("tensorCount", 12),
                entry("alignment", 32L),
                entry("tensorDataOffset", 724_416L),
                entry("fileSize", FILE_SIZE));
    }

    @Test
    void readsTheSameFromAChannelAsFromAPath() throws IOException {
        byte[] bytes = Files.readAllBytes(model);

        GgufMetadata fromChannel = GgufReader.read(new ByteArrayChannel(bytes), bytes.length);

        assertThat(fromChannel).isEqualTo(GgufReader.read(model));
    }

    @ParameterizedTest(name = "cut at {0} bytes")
    @CsvSource(delimiter = '|', textBlock = """
            0       | truncated GGUF: the magic needs 4 bytes at offset 0 but the file has 0
            3       | truncated GGUF: the magic needs 4 bytes at offset 0 but the file has 3
            4       | truncated GGUF: the version needs 4 bytes at offset 4 but the file has 4
            10      | truncated GGUF: the tensor count needs 8 bytes at offset 8 but the file has 10
            20      | truncated GGUF: the metadata entry count needs 8 bytes at offset 16 but the file has 20
            24      | truncated GGUF: the header declares 12 tensors and 18 metadata entries, which need at least 540 bytes at offset 24 but the file has 24
            100     | truncated GGUF: the header declares 12 tensors and 18 metadata entries, which need at least 540 bytes at offset 24 but the file has 100
            1000    | truncated GGUF: array 'tokenizer.ggml.tokens' declares 32000 STRING elements, which need at least 8 bytes each
            300000  | truncated GGUF: array 'tokenizer.ggml.tokens' needs
            500000  | truncated GGUF: array 'tokenizer.ggml.scores' declares 32000 FLOAT32 elements
            723600  | truncated GGUF: metadata key 15 needs 27 bytes at offset 723584 but the file has 723600
            724000  | truncated GGUF: the data offset of tensor 'blk.0.attn_output.weight' needs 8 bytes at offset 723999 but the file has 724000
            724398  | corrupt GGUF: tensor 'token_embd.weight' data ends at byte 1236416 beyond the end of the file (724398 bytes); the file is truncated or corrupt
            724416  | corrupt GGUF: tensor 'token_embd.weight' data ends at byte 1236416 beyond the end of the file (724416 bytes)
            1000000 | corrupt GGUF: tensor 'token_embd.weight' data ends at byte 1236416 beyond the end of the file (1000000 bytes)
            1750559 | corrupt GGUF: tensor 'output.weight' data ends at byte 1750560 beyond the end of the file (1750559 bytes)
            """)
    void rejectsACopyCutShortSayingWhatIsMissing(int length, String expectedMessage, @TempDir Path folder) throws IOException {
        Path truncated = folder.resolve("truncated.gguf");
        Files.write(truncated, Arrays.copyOf(Files.readAllBytes(model), length));

        assertThatThrownBy(() -> GgufReader.read(truncated))
                .isInstanceOfSatisfying(GgufFormatException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith(expectedMessage);
    }
}
