package ai.factory.models.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.factory.TestModels;
import ai.factory.cli.FactoryCli;
import ai.factory.models.gguf.GgmlType;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.GgufReader;
import ai.factory.models.gguf.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SynthTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SynthQuantization.class)
    void writesALlamaModelThatReadsBackWithTheTargetShape(SynthQuantization quantization) throws IOException {
        Path out = dir.resolve("synth.gguf");
        SynthesizedModel model = ModelSynthesizer.synthesize(
                new SynthOptions(10_000_000, quantization, TestModels.tinyLlama(), 2048, 7), out);

        GgufMetadata metadata = GgufReader.read(out);
        GgufMetadata tokenizer = GgufReader.read(TestModels.tinyLlama());
        assertThat(metadata.version()).isEqualTo(3);
        assertThat(metadata.architecture()).isEqualTo("llama");
        assertThat(metadata.quantization()).isEqualTo(quantization.name());
        assertThat(metadata.parameterCount()).isEqualTo(model.parameters()).isCloseTo(10_000_000L, within(500_000L));
        assertThat(metadata.contextLength()).isEqualTo(2048);
        assertThat(metadata.blockCount()).isEqualTo(model.shape().layers());
        assertThat(metadata.embeddingLength()).isEqualTo(256);
        assertThat(metadata.headCount()).isEqualTo(4);
        assertThat(metadata.headCountKv()).isEqualTo(2);
        assertThat(metadata.tensorCount()).isEqualTo(2 + 9 * model.shape().layers());
        assertThat(metadata.vocabularySize()).isEqualTo(tokenizer.vocabularySize());
        assertThat(metadata.tokenizerModel()).isEqualTo(tokenizer.tokenizerModel());
        assertThat(metadata.bosTokenId()).isEqualTo(tokenizer.bosTokenId());
        assertThat(metadata.eosTokenId()).isEqualTo(tokenizer.eosTokenId());
        assertThat(metadata.arrayLengths()).containsAllEntriesOf(tokenizer.arrayLengths());
        assertThat(metadata.fileSize()).isEqualTo(model.sizeBytes());
        assertThat(metadata.tensors()).filteredOn(t -> t.name().equals("blk.0.ffn_down.weight")).singleElement()
                .satisfies(t -> {
                    assertThat(t.dimensions()).containsExactly(768L, 256L);
                    assertThat(t.type()).isEqualTo(quantization.type());
                });
        assertThat(metadata.tensors()).filteredOn(t -> t.name().endsWith("norm.weight")).allMatch(t -> t.type() == GgmlType.F32);
    }

    @Test
    void weightsAreSmallAndFiniteAndNormsAreOne() throws IOException {
        Path out = dir.resolve("synth.gguf");
        ModelSynthesizer.synthesize(new SynthOptions(10_000_000, SynthQuantization.F16, TestModels.tinyLlama(), 2048, 1), out);
        GgufMetadata metadata = GgufReader.read(out);
        TensorInfo q = tensor(metadata, "blk.0.attn_q.weight");
        ByteBuffer bytes = read(out, metadata.tensorDataOffset() + q.offset(), 4096);
        for (int i = 0; i < 2048; i++) {
            float w = Float.float16ToFloat(bytes.getShort(2 * i));
            assertThat(Math.abs(w)).isBetween(0.0156f, 0.032f);
        }
        TensorInfo norm = tensor(metadata, "output_norm.weight");
        assertThat(read(out, metadata.tensorDataOffset() + norm.offset(), 16).getFloat(12)).isEqualTo(1.0f);
    }

    @Test
    void theSameSeedGivesTheSameFile() throws IOException {
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        ModelSynthesizer.synthesize(new SynthOptions(10_000_000, SynthQuantization.Q4_0, TestModels.tinyLlama(), 512, 3), a);
        ModelSynthesizer.synthesize(new SynthOptions(10_000_000, SynthQuantization.Q4_0, TestModels.tinyLlama(), 512, 3), b);
        assertThat(Files.mismatch(a, b)).isEqualTo(-1);
    }

    @Test
    void choosesLlama32WidthsForOneBillionParameters() {
        LlamaShape shape = LlamaShape.forTarget(ParameterCount.parse("1B"), 128_256);
        assertThat(shape.embedding()).isEqualTo(2048);
        assertThat(shape.heads()).isEqualTo(32);
        assertThat(shape.kvHeads()).isEqualTo(8);
        assertThat(shape.feedForward()).isEqualTo(8192);
        assertThat(shape.parameters()).isCloseTo(1_000_000_000L, within(40_000_000L));
        assertThat(LlamaShape.forTarget(ParameterCount.parse("3B"), 128_256).parameters()).isCloseTo(3_000_000_000L, within(100_000_000L));
    }

    @Test
    void parsesParameterCounts() {
        assertThat(ParameterCount.parse("10M")).isEqualTo(10_000_000L);
        assertThat(ParameterCount.parse("0.5B")).isEqualTo(500_000_000L);
        assertThat(ParameterCount.parse("3b")).isEqualTo(3_000_000_000L);
        assertThatThrownBy(() -> ParameterCount.parse("lots")).hasMessageContaining("not a parameter count");
        assertThatThrownBy(() -> ParameterCount.parse("-1B")).hasMessageContaining("not a parameter count");
    }

    @Test
    void commandWritesTheModelAndPrintsItsShape() {
        Path out = dir.resolve("cli.gguf");
        Result result = cli("models", "synth", "--params", "10M", "--quant", "Q4_0", "--tokenizer",
                TestModels.tinyLlama().toString(), "--out", out.toString(), "--ctx", "1024");
        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out()).contains("Q4_0").contains("n_embd 256");
        assertThat(out).isRegularFile();
    }

    @Test
    void commandRejectsUnknownArchitectureQuantizationAndParameters() {
        String tokenizer = TestModels.tinyLlama().toString();
        String out = dir.resolve("x.gguf").toString();
        assertThat(cli("models", "synth", "--arch", "mamba", "--params", "10M", "--tokenizer", tokenizer, "--out", out))
                .satisfies(r -> assertThat(r.exit()).isEqualTo(2)).satisfies(r -> assertThat(r.err()).contains("unknown architecture 'mamba'"));
        assertThat(cli("models", "synth", "--quant", "Q5_K", "--params", "10M", "--tokenizer", tokenizer, "--out", out))
                .satisfies(r -> assertThat(r.exit()).isEqualTo(2)).satisfies(r -> assertThat(r.err()).contains("unknown quantization 'Q5_K'"));
        assertThat(cli("models", "synth", "--params", "big", "--tokenizer", tokenizer, "--out", out))
                .satisfies(r -> assertThat(r.exit()).isEqualTo(2)).satisfies(r -> assertThat(r.err()).contains("not a parameter count"));
        assertThat(Path.of(out)).doesNotExist();
    }

    @Test
    void commandFailsOnAnUnreadableTokenizer() throws IOException {
        Path notGguf = Files.writeString(dir.resolve("not.gguf"), "hello");
        Result missing = cli("models", "synth", "--params", "10M", "--tokenizer", dir.resolve("absent.gguf").toString(),
                "--out", dir.resolve("x.gguf").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("absent.gguf");
        Result corrupt = cli("models", "synth", "--params", "10M", "--tokenizer", notGguf.toString(), "--out", dir.resolve("x.gguf").toString());
        assertThat(corrupt.exit()).isEqualTo(1);
        assertThat(corrupt.err()).contains("GGUF");
        assertThat(dir.resolve("x.gguf")).doesNotExist();
    }

    record Result(int exit, String out, String err) {}

    private static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static TensorInfo tensor(GgufMetadata metadata, String name) {
        return metadata.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    private static ByteBuffer read(Path file, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(file)) {
            ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(buffer, offset);
            return buffer.flip();
        }
    }
}
