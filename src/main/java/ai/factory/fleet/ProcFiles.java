package ai.factory.fleet;

import static ai.factory.fleet.ToolOutput.malformed;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Reads Linux's {@code /proc/cpuinfo} and {@code /proc/meminfo}. */
public final class ProcFiles {
    /** The instruction-set features inference kernels choose between, in the order they are listed. */
    static final List<String> ISA_FEATURES = List.of(
            "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
            "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
            "asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2", "sme");

    /** Total and available memory in bytes. */
    public record Memory(long totalBytes, long availableBytes) {}

    private ProcFiles() {}

    public static CpuInfo parseCpuInfo(String cpuinfo) {
        int threads = 0;
        String model = null;
        Set<String> sockets = new HashSet<>();
        Set<String> cores = new HashSet<>();
        Set<String> flags = new LinkedHashSet<>();
        String socket = "0";
        for (String line : cpuinfo.lines().toList()) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "processor" -> {
                    threads++;
                    socket = "0";
                }
                case "model name", "cpu model" -> model = model == null ? value : model;
                case "physical id" -> {
                    socket = value;
                    sockets.add(value);
                }
                case "core id" -> cores.add(socket + "/" + value);
                case "flags", "Features" -> flags.addAll(List.of(value.split("\\s+")));
                default -> { }
            }
        }
        if (threads == 0) {
            throw malformed("/proc/cpuinfo", "no 'processor' entries");
        }
        List<String> isa = new ArrayList<>();
        for (String f : ISA_FEATURES) {
            if (flags.contains(f)) {
                isa.add(f);
            }
        }
        int coreCount = cores.isEmpty() ? threads : Math.min(cores.size(), threads);
        return new CpuInfo(model == null ? "unknown (" + System.getProperty("os.arch") + ")" : model,
                Math.max(1, sockets.size()), coreCount, threads, isa);
    }

    public static Memory parseMemInfo(String meminfo) {
        long total = -1;
        long available = -1;
        long free = -1;
        for (String line : meminfo.lines().toList()) {
            if (line.startsWith("MemTotal:")) {
                total = kib(line);
            } else if (line.startsWith("MemAvailable:")) {
                available = kib(line);
            } else if (line.startsWith("MemFree:")) {
                free = kib(line);
            }
        }
        if (total < 0) {
            throw malformed("/proc/meminfo", "no MemTotal");
        }
        // kernels before 3.14 have no MemAvailable; MemFree understates it but is what there is
        long avail = available >= 0 ? available : Math.max(0, free);
        return new Memory(total, Math.min(avail, total));
    }

    private static long kib(String line) {
        String[] parts = line.substring(line.indexOf(':') + 1).strip().split("\\s+");
        try {
            long n = Long.parseLong(parts[0]);
            if (n < 0 || (parts.length > 1 && !parts[1].equals("kB"))) {
                throw malformed("/proc/meminfo", "unexpected line '" + line + "'");
            }
            return n * 1024;
        } catch (NumberFormatException e) {
            throw malformed("/proc/meminfo", "unexpected line '" + line + "'");
        }
    }
}
