package ai.factory.models.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void writtenFilesReadBackWithTheirMetadataAndTensors() throws IOException {
        Path file = dir.resolve("w.gguf");
        GgufWriter writer = new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.block_count", 3)
                .putFloat32("llama.rope.freq_base", 10_000f);
        writer.addTensor("a", GgmlType.F32, 5);
        writer.addTensor("b", GgmlType.Q8_0, 64, 3);
        writer.write(file, (tensor, offset, chunk) -> {
            while (chunk.hasRemaining()) {
                chunk.put((byte) 7);
            }
        });

        GgufMetadata metadata = GgufReader.read(file);
        assertThat(metadata.architecture()).isEqualTo("llama");
        assertThat(metadata.blockCount()).isEqualTo(3);
        assertThat(metadata.scalarMetadata()).containsEntry("llama.rope.freq_base", 10_000f);
        assertThat(metadata.tensors()).extracting(TensorInfo::name, TensorInfo::dimensions, TensorInfo::offset, TensorInfo::sizeBytes)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("a", List.of(5L), 0L, 20L),
                        org.assertj.core.groups.Tuple.tuple("b", List.of(64L, 3L), 32L, 204L));
        assertThat(metadata.fileSize()).isEqualTo(writer.fileSize()).isEqualTo(Files.size(file));
        assertThat(Files.readAllBytes(file)[(int) metadata.tensorDataOffset() + 32]).isEqualTo((byte) 7);
    }

    @Test
    void copiesEntriesFromAnotherFileByteForByte() throws IOException {
        Path source = Files.write(dir.resolve("s.gguf"), GgufBuilder.minimalModel()
                .stringArray("tokenizer.ggml.tokens", List.of("<s>", "</s>", "héllo"))
                .string("tokenizer.ggml.model", "llama").build());
        GgufWriter writer = new GgufWriter().putString("general.architecture", "llama");
        GgufReader.entries(source).stream().filter(e -> e.key().startsWith("tokenizer.")).forEach(e -> writer.copy(source, e));
        writer.addTensor("t", GgmlType.F32, 4);
        Path copy = dir.resolve("c.gguf");
        writer.write(copy, (tensor, offset, chunk) -> chunk.position(chunk.limit()));

        GgufMetadata metadata = GgufReader.read(copy);
        assertThat(metadata.tokenizerModel()).isEqualTo("llama");
        assertThat(metadata.vocabularySize()).isEqualTo(3);
        assertThat(GgufReader.entries(copy)).extracting(GgufEntry::key)
                .containsExactly("general.architecture", "tokenizer.ggml.tokens", "tokenizer.ggml.model");
    }

    @Test
    void refusesRowsThatAreNotWholeBlocksAndDuplicateNames() {
        GgufWriter writer = new GgufWriter();
        assertThatThrownBy(() -> writer.addTensor("q", GgmlType.Q4_0, 33, 2)).hasMessageContaining("not a whole number of 32-element Q4_0 blocks");
        writer.addTensor("t", GgmlType.F32, 4);
        assertThatThrownBy(() -> writer.addTensor("t", GgmlType.F32, 4)).hasMessageContaining("declared twice");
        assertThatThrownBy(() -> writer.putString("k", "v").putUInt32("k", 1)).hasMessageContaining("declared twice");
    }
}
