package ai.factory.models.synth;

import static java.util.Objects.requireNonNull;

import ai.factory.models.gguf.GgmlType;
import ai.factory.models.gguf.GgufEntry;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.GgufReader;
import ai.factory.models.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes llama-architecture GGUF models of realistic size with random weights, for measuring the
 * serving path on shapes real models have without downloading them. The tokenizer (vocabulary,
 * merges, special tokens, chat template) is copied from another GGUF file, so prompts tokenize as
 * they would for that model; the output is gibberish, as random weights make it.
 *
 * <p>The tensors are those llama.cpp's llama loader requires, in ggml's dimension order (row length
 * first): {@code token_embd} [n_embd, n_vocab], {@code output_norm} [n_embd], and per layer {@code
 * blk.N.attn_norm}, {@code attn_q} [n_embd, n_embd], {@code attn_k} and {@code attn_v} [n_embd,
 * n_embd_kv], {@code attn_output} [n_embd, n_embd], {@code ffn_norm}, {@code ffn_gate} and {@code
 * ffn_up} [n_embd, n_ff], {@code ffn_down} [n_ff, n_embd]. There is no {@code output} tensor: as in
 * Llama 3.2 the output projection is tied to the token embedding.
 */
public final class ModelSynthesizer {
    private static final String ARCH = "llama";

    private ModelSynthesizer() {}

    /**
     * Writes the model {@code options} describe to {@code out}, through a temporary file beside it.
     *
     * @throws IllegalArgumentException if the tokenizer file has no vocabulary
     * @throws IOException if the tokenizer cannot be read or the model cannot be written
     */
    public static SynthesizedModel synthesize(SynthOptions options, Path out) throws IOException {
        requireNonNull(options, "options is null");
        requireNonNull(out, "out is null");
        GgufMetadata tokenizer = GgufReader.read(options.tokenizer());
        if (tokenizer.tokenizerModel() == null || !tokenizer.arrayLengths().containsKey("tokenizer.ggml.tokens")) {
            throw new IllegalArgumentException("%s has no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens); give a GGUF model with one"
                    .formatted(options.tokenizer().getFileName()));
        }
        LlamaShape shape = LlamaShape.forTarget(options.parameterTarget(), tokenizer.vocabularySize());
        GgufWriter writer = new GgufWriter();
        writeMetadata(writer, shape, options);
        for (GgufEntry entry : GgufReader.entries(options.tokenizer())) {
            if (entry.key().startsWith("tokenizer.")) {
                writer.copy(options.tokenizer(), entry);
            }
        }
        declareTensors(writer, shape, options.quantization().type());
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        try {
            writer.write(partial, new RandomWeights(options.seed()));
            Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
        return new SynthesizedModel(out, shape, options.quantization(), Files.size(out));
    }

    private static void writeMetadata(GgufWriter writer, LlamaShape shape, SynthOptions options) {
        writer.putString("general.architecture", ARCH)
                .putString("general.name", "synthetic-llama-%s-%s".formatted(
                        ParameterCount.format(shape.parameters()), options.quantization()))
                .putUInt32("general.file_type", options.quantization().fileType())
                .putUInt32("general.quantization_version", 2)
                .putUInt32(ARCH + ".context_length", options.contextLength())
                .putUInt32(ARCH + ".embedding_length", shape.embedding())
                .putUInt32(ARCH + ".block_count", shape.layers())
                .putUInt32(ARCH + ".feed_forward_length", shape.feedForward())
                .putUInt32(ARCH + ".attention.head_count", shape.heads())
                .putUInt32(ARCH + ".attention.head_count_kv", shape.kvHeads())
                .putUInt32(ARCH + ".rope.dimension_count", shape.headDimension())
                .putFloat32(ARCH + ".rope.freq_base", 500_000f)
                .putFloat32(ARCH + ".attention.layer_norm_rms_epsilon", 1e-5f)
                .putUInt32(ARCH + ".vocab_size", shape.vocabulary());
    }

    private static void declareTensors(GgufWriter writer, LlamaShape shape, GgmlType matrices) {
        long embd = shape.embedding();
        writer.addTensor("token_embd.weight", matrices, embd, shape.vocabulary());
        writer.addTensor("output_norm.weight", GgmlType.F32, embd);
        for (int layer = 0; layer < shape.layers(); layer++) {
            String blk = "blk." + layer + ".";
            writer.addTensor(blk + "attn_norm.weight", GgmlType.F32, embd);
            writer.addTensor(blk + "attn_q.weight", matrices, embd, embd);
            writer.addTensor(blk + "attn_k.weight", matrices, embd, shape.kvEmbedding());
            writer.addTensor(blk + "attn_v.weight", matrices, embd, shape.kvEmbedding());
            writer.addTensor(blk + "attn_output.weight", matrices, embd, embd);
            writer.addTensor(blk + "ffn_norm.weight", GgmlType.F32, embd);
            writer.addTensor(blk + "ffn_gate.weight", matrices, embd, shape.feedForward());
            writer.addTensor(blk + "ffn_up.weight", matrices, embd, shape.feedForward());
            writer.addTensor(blk + "ffn_down.weight", matrices, shape.feedForward(), embd);
        }
    }
}
