package ai.factory.models.gguf;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a GGUF model file says about itself, as {@link GgufReader} reads it. Architecture keys
 * ({@code {arch}.context_length} and the like) a file lacks are 0 or null; only
 * {@code general.architecture} is required. Per-layer values stored as arrays are not
 * interpreted: their fields are 0 and their lengths are in {@link #arrayLengths()}.
 *
 * @param version the GGUF version, 2 or 3
 * @param architecture {@code general.architecture}, e.g. {@code llama}
 * @param name {@code general.name}, or null
 * @param parameterCount {@code general.parameter_count}, or else the elements of all tensors
 * @param quantization the {@code general.file_type} name, e.g. {@code Q4_K_M}; without one, the
 *     type of the tensors that take the most bytes, e.g. {@code Q8_0}; {@code unknown(N)} for an
 *     undefined file type
 * @param contextLength {@code {arch}.context_length}, the context the model was trained for
 * @param blockCount {@code {arch}.block_count}, the number of layers
 * @param embeddingLength {@code {arch}.embedding_length}
 * @param headCount {@code {arch}.attention.head_count}
 * @param headCountKv {@code {arch}.attention.head_count_kv}, or {@code headCount} without one
 * @param tokenizerModel {@code tokenizer.ggml.model}, e.g. {@code llama} or {@code gpt2}, or null
 * @param vocabularySize the length of {@code tokenizer.ggml.tokens}, or {@code {arch}.vocab_size}
 * @param chatTemplate {@code tokenizer.chat_template}, or null; cut at 1 MiB
 * @param bosTokenId {@code tokenizer.ggml.bos_token_id}, or null
 * @param eosTokenId {@code tokenizer.ggml.eos_token_id}, or null
 * @param tensorCount the number of tensors
 * @param alignment the alignment of tensor data, {@code general.alignment} or 32
 * @param tensorDataOffset where the data section starts in the file
 * @param fileSize the size of the file in bytes
 * @param tensors the tensor infos, in file order
 * @param scalarMetadata every non-array value by key, in file order: integers as {@code Integer},
 *     {@code Long} or (for uint64 values of 2^63 and more) {@code BigInteger}, floats as
 *     {@code Float} or {@code Double}, booleans and strings; strings cut at 64 KiB, chat
 *     templates at 1 MiB
 * @param arrayLengths the element count of every array value by key, in file order
 */
public record GgufMetadata(
        int version,
        String architecture,
        @Nullable String name,
        long parameterCount,
        String quantization,
        long contextLength,
        int blockCount,
        int embeddingLength,
        int headCount,
        int headCountKv,
        @Nullable String tokenizerModel,
        int vocabularySize,
        @Nullable String chatTemplate,
        @Nullable Integer bosTokenId,
        @Nullable Integer eosTokenId,
        int tensorCount,
        long alignment,
        long tensorDataOffset,
        long fileSize,
        List<TensorInfo> tensors,
        Map<String, Object> scalarMetadata,
        Map<String, Long> arrayLengths) {
    public GgufMetadata {
        requireNonNull(architecture, "architecture is null");
        requireNonNull(quantization, "quantization is null");
        tensors = List.copyOf(requireNonNull(tensors, "tensors is null"));
        scalarMetadata = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(scalarMetadata, "scalarMetadata is null")));
        arrayLengths = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(arrayLengths, "arrayLengths is null")));
        if (tensorCount != tensors.size()) {
            throw new IllegalArgumentException("tensorCount %d does not match the %d tensors".formatted(tensorCount, tensors.size()));
        }
        requireNonNegative("parameterCount", parameterCount);
        requireNonNegative("contextLength", contextLength);
        requireNonNegative("blockCount", blockCount);
        requireNonNegative("embeddingLength", embeddingLength);
        requireNonNegative("headCount", headCount);
        requireNonNegative("headCountKv", headCountKv);
        requireNonNegative("vocabularySize", vocabularySize);
        requireNonNegative("tensorDataOffset", tensorDataOffset);
        requireNonNegative("fileSize", fileSize);
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment is not a power of two: " + alignment);
        }
    }

    /**
     * The scalar fields as an ordered map for JSON, with camelCase keys and nulls left out; not
     * the tensors, the raw metadata or the array lengths.
     */
    public Map<String, Object> summary() {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("version", version);
        summary.put("architecture", architecture);
        putIfPresent(summary, "name", name);
        summary.put("parameterCount", parameterCount);
        summary.put("quantization", quantization);
        summary.put("contextLength", contextLength);
        summary.put("blockCount", blockCount);
        summary.put("embeddingLength", embeddingLength);
        summary.put("headCount", headCount);
        summary.put("headCountKv", headCountKv);
        putIfPresent(summary, "tokenizerModel", tokenizerModel);
        summary.put("vocabularySize", vocabularySize);
        putIfPresent(summary, "chatTemplate", chatTemplate);
        putIfPresent(summary, "bosTokenId", bosTokenId);
        putIfPresent(summary, "eosTokenId", eosTokenId);
        summary.put("tensorCount", tensorCount);
        summary.put("alignment", alignment);
        summary.put("tensorDataOffset", tensorDataOffset);
        summary.put("fileSize", fileSize);
        return Collections.unmodifiableMap(summary);
    }

    private static void putIfPresent(Map<String, Object> map, String key, @Nullable Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " is negative: " + value);
        }
    }
}
