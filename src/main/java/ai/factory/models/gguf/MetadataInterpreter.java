package ai.factory.models.gguf;

import static ai.factory.models.gguf.GgufReader.quote;
import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Turns the keys of a parsed GGUF file into {@link GgufMetadata} fields, following the key
 * names of the GGUF specification and llama.cpp. A known key holding the wrong kind of value
 * (a string where a count belongs, a count beyond {@code int}) is a {@link GgufFormatException},
 * as it is for llama.cpp, which would refuse to load the model.
 */
final class MetadataInterpreter {
    private final ParsedGguf parsed;

    private MetadataInterpreter(ParsedGguf parsed) {
        this.parsed = parsed;
    }

    static GgufMetadata interpret(ParsedGguf parsed) {
        return new MetadataInterpreter(requireNonNull(parsed, "parsed is null")).interpret();
    }

    private GgufMetadata interpret() {
        String architecture = string("general.architecture");
        if (architecture == null) {
            throw new GgufFormatException("corrupt GGUF: missing general.architecture, which every model file must name");
        }
        if (architecture.isEmpty()) {
            throw new GgufFormatException("corrupt GGUF: general.architecture is empty");
        }
        int headCount = intValue(architecture + ".attention.head_count");
        String headCountKvKey = architecture + ".attention.head_count_kv";
        int headCountKv = parsed.arrayLengths().containsKey(headCountKvKey) || integer(headCountKvKey).isPresent()
                ? intValue(headCountKvKey)
                : headCount;
        return new GgufMetadata(
                parsed.version(),
                architecture,
                string("general.name"),
                parameterCount(),
                quantization(),
                nonNegative(architecture + ".context_length"),
                intValue(architecture + ".block_count"),
                intValue(architecture + ".embedding_length"),
                headCount,
                headCountKv,
                string("tokenizer.ggml.model"),
                vocabularySize(architecture),
                string("tokenizer.chat_template"),
                optionalInt("tokenizer.ggml.bos_token_id"),
                optionalInt("tokenizer.ggml.eos_token_id"),
                parsed.tensors().size(),
                parsed.alignment(),
                parsed.dataOffset(),
                parsed.fileSize(),
                parsed.tensors(),
                parsed.scalars(),
                parsed.arrayLengths());
    }

    private long parameterCount() {
        OptionalLong declared = integer("general.parameter_count");
        if (declared.isPresent()) {
            return checkNonNegative("general.parameter_count", declared.getAsLong());
        }
        long total = 0;
        for (TensorInfo tensor : parsed.tensors()) {
            total += tensor.elementCount();
            if (total < 0) {
                throw new GgufFormatException("corrupt GGUF: the tensors hold more than 2^63 elements in all");
            }
        }
        return total;
    }

    private String quantization() {
        OptionalLong fileType = integer("general.file_type");
        if (fileType.isPresent()) {
            return LlamaFileType.name(fileType.getAsLong());
        }
        Map<GgmlType, Long> bytesByType = new EnumMap<>(GgmlType.class);
        for (TensorInfo tensor : parsed.tensors()) {
            bytesByType.merge(tensor.type(), tensor.sizeBytes(), Long::sum);
        }
        return bytesByType.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .map(entry -> entry.getKey().name())
                .orElse("unknown");
    }

    private int vocabularySize(String architecture) {
        Long tokens = parsed.arrayLengths().get("tokenizer.ggml.tokens");
        if (tokens != null) {
            return toInt("tokenizer.ggml.tokens", tokens);
        }
        return intValue(architecture + ".vocab_size");
    }

    private @Nullable String string(String key) {
        Object value = parsed.scalars().get(key);
        if (value == null && !parsed.arrayLengths().containsKey(key)) {
            return null;
        }
        if (value instanceof String string) {
            return string;
        }
        throw wrongKind(key, "a string");
    }

    /** The integer at {@code key}; empty where there is none or an array holds per-layer values. */
    private OptionalLong integer(String key) {
        return switch (parsed.scalars().get(key)) {
            case null -> OptionalLong.empty();
            case Integer i -> OptionalLong.of(i);
            case Long l -> OptionalLong.of(l);
            default -> throw wrongKind(key, "an integer below 2^63");
        };
    }

    private int intValue(String key) {
        OptionalLong value = integer(key);
        return value.isPresent() ? toInt(key, value.getAsLong()) : 0;
    }

    private @Nullable Integer optionalInt(String key) {
        OptionalLong value = integer(key);
        return value.isPresent() ? Integer.valueOf(toInt(key, value.getAsLong())) : null;
    }

    private long nonNegative(String key) {
        OptionalLong value = integer(key);
        return value.isPresent() ? checkNonNegative(key, value.getAsLong()) : 0;
    }

    private static int toInt(String key, long value) {
        if (value < 0 || value > Integer.MAX_VALUE) {
            throw new GgufFormatException("corrupt GGUF: metadata %s is %d, outside 0 to %d".formatted(quote(key), value, Integer.MAX_VALUE));
        }
        return (int) value;
    }

    private static long checkNonNegative(String key, long value) {
        if (value < 0) {
            throw new GgufFormatException("corrupt GGUF: metadata %s is negative: %d".formatted(quote(key), value));
        }
        return value;
    }

    private GgufFormatException wrongKind(String key, String expected) {
        Object value = parsed.scalars().get(key);
        String actual = value == null ? "an array" : "a " + value.getClass().getSimpleName();
        return new GgufFormatException("corrupt GGUF: metadata %s must be %s but is %s".formatted(quote(key), expected, actual));
    }
}
