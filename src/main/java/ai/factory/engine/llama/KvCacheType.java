package ai.factory.engine.llama;

import java.util.Locale;

/**
 * The element type of a context's KV cache ({@code type_k} and {@code type_v}). The quantized types take about a half
 * ({@code q8_0}) or a quarter ({@code q4_0}) of {@code f16}'s memory, so the same memory holds more or longer
 * sequences; llama.cpp then computes attention with flash attention, which its CPU backend and CUDA both have.
 */
public enum KvCacheType {
    F16(1),
    Q8_0(8),
    Q4_0(2);

    /** {@code enum ggml_type}'s value. */
    final int ggmlType;

    KvCacheType(int ggmlType) {
        this.ggmlType = ggmlType;
    }

    /** {@code f16}, {@code q8_0} or {@code q4_0}, as deployments and the capacity plan name it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type named {@code id} in any case: {@code f16}, {@code q8_0} or {@code q4_0}. */
    public static KvCacheType parse(String id) {
        for (KvCacheType type : values()) {
            if (type.id().equalsIgnoreCase(id.strip())) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown KV cache type '" + id + "'; use f16, q8_0 or q4_0");
    }
}
