package ai.factory.models.gguf;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link GgufReader} found in a file before any key is interpreted: scalar values by key
 * in file order, array lengths by key, and the tensor infos.
 */
record ParsedGguf(
        int version,
        Map<String, Object> scalars,
        Map<String, Long> arrayLengths,
        List<TensorInfo> tensors,
        long alignment,
        long dataOffset,
        long fileSize) {
    ParsedGguf {
        scalars = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(scalars, "scalars is null")));
        arrayLengths = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(arrayLengths, "arrayLengths is null")));
        tensors = List.copyOf(requireNonNull(tensors, "tensors is null"));
    }
}
