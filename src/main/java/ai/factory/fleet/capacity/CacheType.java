package ai.factory.fleet.capacity;

import java.util.Locale;

/** The element type of llama.cpp's KV cache ({@code --cache-type-k/-v}): bytes per element as a fraction. */
public enum CacheType {
    /** 2 bytes an element. */
    F16(2, 1),
    /** Blocks of 32 elements in 34 bytes (32 int8 + an f16 scale). */
    Q8_0(34, 32),
    /** Blocks of 32 elements in 18 bytes (32 nibbles + an f16 scale). */
    Q4_0(18, 32);

    private final long blockBytes;
    private final long blockElements;

    CacheType(long blockBytes, long blockElements) {
        this.blockBytes = blockBytes;
        this.blockElements = blockElements;
    }

    /** Elements a block holds: llama.cpp stores a head's K or V only in whole blocks. */
    public long blockElements() {
        return blockElements;
    }

    /** The bytes {@code elements} take, rounded up to whole bytes. */
    public long bytes(long elements) {
        return Math.ceilDiv(Math.multiplyExact(elements, blockBytes), blockElements);
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code f16}, {@code q8_0} or {@code q4_0}, in any case. */
    public static CacheType parse(String text) {
        for (CacheType t : values()) {
            if (t.id().equalsIgnoreCase(text.strip())) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown cache type '" + text + "'; use f16, q8_0 or q4_0");
    }
}
