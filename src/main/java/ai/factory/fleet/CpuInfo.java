package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The node's CPUs: model, sockets, physical cores, hardware threads, and the instruction-set features that
 * matter to inference kernels (AVX2, AVX-512, AMX on x86; NEON, SVE, I8MM on Arm).
 */
public record CpuInfo(String model, int sockets, int cores, int threads, List<String> isaFeatures) {
    public CpuInfo {
        requireNonNull(model, "model is null");
        if (sockets < 1 || cores < 1 || threads < cores) {
            throw new IllegalArgumentException("need sockets >= 1, cores >= 1 and threads >= cores, not "
                    + sockets + "/" + cores + "/" + threads);
        }
        isaFeatures = List.copyOf(isaFeatures);
    }
}
