package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Finds out what this node has: CPUs and memory from {@code /proc} (the JVM's view elsewhere), accelerators by
 * running the vendors' tools where installed ({@code nvidia-smi}, {@code neuron-ls}, {@code amd-smi} or else
 * {@code rocm-smi}). A tool that is not installed is normal; one that fails, hangs or prints what we can't read
 * becomes a warning in the inventory, and the rest is still served. Tool results are kept for {@code ttl}; host memory is read afresh on
 * every call.
 */
public final class Discovery {
    public static final Duration TOOL_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

    private final String nodeName;
    private final CommandRunner commands;
    private final Function<Path, Optional<String>> files;
    private final Clock clock;
    private final Duration ttl;
    private @Nullable Snapshot snapshot;

    /** What the slow part of discovery found, and until when it holds. */
    private record Snapshot(CpuInfo cpu, List<Accelerator> accelerators, List<String> warnings, Instant expires) {}

    /**
     * @param files reads a host file such as {@code /proc/cpuinfo}; empty where there is none
     */
    public Discovery(String nodeName, CommandRunner commands, Function<Path, Optional<String>> files, Clock clock,
                     Duration ttl) {
        this.nodeName = requireNonNull(nodeName, "nodeName is null");
        this.commands = requireNonNull(commands, "commands is null");
        this.files = requireNonNull(files, "files is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ttl = requireNonNull(ttl, "ttl is null");
        if (ttl.isNegative()) {
            throw new IllegalArgumentException("ttl must not be negative: " + ttl);
        }
    }

    /** Discovery of this machine with its real tools and files. */
    public static Discovery forThisMachine(Clock clock) {
        return forThisMachine(clock, CommandRunner.system());
    }

    /** Discovery of this machine's files, with the vendors' tools run through {@code commands}. */
    public static Discovery forThisMachine(Clock clock, CommandRunner commands) {
        return new Discovery(hostName(), commands, Discovery::readFile, clock, DEFAULT_TTL);
    }

    public String nodeName() {
        return nodeName;
    }

    /** The node as it is now: cached tool results, fresh host memory. */
    public synchronized NodeInventory inventory() {
        Instant now = clock.instant();
        if (snapshot == null || !now.isBefore(snapshot.expires())) {
            snapshot = discover(now.plus(ttl));
        }
        List<String> warnings = new ArrayList<>(snapshot.warnings());
        ProcFiles.Memory memory = memory(warnings);
        return new NodeInventory(nodeName, snapshot.cpu(), memory.totalBytes(), memory.availableBytes(),
                snapshot.accelerators(), warnings);
    }

    private Snapshot discover(Instant expires) {
        List<String> warnings = new ArrayList<>();
        CpuInfo cpu = cpu(warnings);
        List<Accelerator> accelerators = new ArrayList<>();
        List<NvidiaGpu> nvidia = tool(NvidiaSmi.QUERY, NvidiaSmi::parseQuery, warnings).orElse(List.of());
        if (!nvidia.isEmpty()) {
            Map<String, NvidiaSmi.Details> details = tool(NvidiaSmi.REPORT, NvidiaSmi::parseReport, warnings)
                    .orElse(Map.of());
            nvidia = NvidiaSmi.merge(nvidia, details);
        }
        accelerators.addAll(nvidia);
        accelerators.addAll(tool(NeuronLs.COMMAND, NeuronLs::parse, warnings).orElse(List.of()));
        accelerators.addAll(tool(AmdSmi.COMMAND, AmdSmi::parse, warnings,
                () -> tool(RocmSmi.COMMAND, RocmSmi::parse, warnings)).orElse(List.of()));
        return new Snapshot(cpu, accelerators, warnings, expires);
    }

    /** Runs one tool and parses what it printed; empty when it is not installed or failed (with a warning). */
    private <T> Optional<T> tool(List<String> command, Function<String, T> parser, List<String> warnings) {
        return tool(command, parser, warnings, Optional::empty);
    }

    /** As above, asking {@code whenAbsent} (an older tool, say) when this one is not installed. */
    private <T> Optional<T> tool(List<String> command, Function<String, T> parser, List<String> warnings,
                                 Supplier<Optional<T>> whenAbsent) {
        String name = String.join(" ", command);
        Optional<CommandRunner.Result> ran = commands.run(command, TOOL_TIMEOUT);
        if (ran.isEmpty()) {
            return whenAbsent.get();
        }
        CommandRunner.Result r = ran.get();
        if (r.timedOut()) {
            warnings.add(name + ": no answer within " + TOOL_TIMEOUT.toSeconds() + " s");
            return Optional.empty();
        }
        if (r.exitCode() != 0) {
            String why = firstLine(r.stderr().isBlank() ? r.stdout() : r.stderr());
            warnings.add(name + ": exited with " + r.exitCode() + (why.isEmpty() ? "" : ": " + why));
            return Optional.empty();
        }
        try {
            return Optional.of(parser.apply(r.stdout()));
        } catch (FactoryException | IllegalArgumentException e) {
            warnings.add(name + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    private CpuInfo cpu(List<String> warnings) {
        Optional<String> text = files.apply(Path.of("/proc/cpuinfo"));
        if (text.isPresent()) {
            try {
                return ProcFiles.parseCpuInfo(text.get());
            } catch (FactoryException | IllegalArgumentException e) {
                warnings.add(e.getMessage());
            }
        }
        int n = Math.max(1, Runtime.getRuntime().availableProcessors());
        return new CpuInfo("unknown (" + System.getProperty("os.arch") + ")", 1, n, n, List.of());
    }

    private ProcFiles.Memory memory(List<String> warnings) {
        Optional<String> text = files.apply(Path.of("/proc/meminfo"));
        if (text.isPresent()) {
            try {
                return ProcFiles.parseMemInfo(text.get());
            } catch (FactoryException e) {
                warnings.add(e.getMessage());
            }
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return new ProcFiles.Memory(os.getTotalMemorySize(), Math.min(os.getFreeMemorySize(), os.getTotalMemorySize()));
    }

    private static String firstLine(String text) {
        return text.strip().lines().findFirst().orElse("");
    }

    private static Optional<String> readFile(Path path) {
        try {
            return Files.isReadable(path) ? Optional.of(Files.readString(path)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static String hostName() {
        return readFile(Path.of("/proc/sys/kernel/hostname")).map(String::strip).filter(s -> !s.isEmpty())
                .or(() -> Optional.ofNullable(System.getenv("HOSTNAME")).filter(s -> !s.isBlank()))
                .orElseGet(() -> {
                    try {
                        return java.net.InetAddress.getLocalHost().getHostName();
                    } catch (IOException e) {
                        return "localhost";
                    }
                });
    }
}
