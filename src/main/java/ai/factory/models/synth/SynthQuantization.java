package ai.factory.models.synth;

import ai.factory.models.gguf.GgmlType;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The weight types a synthetic model can have, with the {@code general.file_type} llama.cpp gives each. */
public enum SynthQuantization {
    F16(GgmlType.F16, 1),
    Q8_0(GgmlType.Q8_0, 7),
    Q4_0(GgmlType.Q4_0, 2);

    private final GgmlType type;
    private final int fileType;

    SynthQuantization(GgmlType type, int fileType) {
        this.type = type;
        this.fileType = fileType;
    }

    /** The ggml type of the matrices; norms stay F32. */
    public GgmlType type() {
        return type;
    }

    /** llama.cpp's {@code llama_ftype} for a file whose matrices are all of {@link #type()}. */
    public int fileType() {
        return fileType;
    }

    /** The quantization named {@code name} (case-insensitive). */
    public static SynthQuantization parse(String name) {
        for (SynthQuantization q : values()) {
            if (q.name().equalsIgnoreCase(name.strip())) {
                return q;
            }
        }
        throw new IllegalArgumentException("unknown quantization '%s'; choose one of %s".formatted(name,
                Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "))));
    }

    @Override
    public String toString() {
        return name().toUpperCase(Locale.ROOT);
    }
}
