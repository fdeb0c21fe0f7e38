package ai.factory.models.gguf;

import static java.util.Objects.requireNonNull;

/**
 * Where one metadata entry's value lies in its GGUF file: {@code length} bytes from
 * {@code offset}, the uint32 value type followed by the value, exactly as a writer copies it
 * after the key.
 *
 * @param key the entry's key, e.g. {@code tokenizer.ggml.tokens}
 * @param offset the file offset of the value type
 * @param length the bytes of the value type and the value
 */
public record GgufEntry(String key, long offset, long length) {
    public GgufEntry {
        requireNonNull(key, "key is null");
        if (offset < 0) {
            throw new IllegalArgumentException("offset is negative: " + offset);
        }
        if (length < 5) {
            throw new IllegalArgumentException("length is less than a value type and the smallest value: " + length);
        }
    }
}
