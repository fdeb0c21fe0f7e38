package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The llama.cpp libraries, loaded into this process: what every {@link LlamaEngine} runs on.
 *
 * <p>Where they come from, first match wins: the environment variable {@value #LIB_DIR_ENV} (a site's own
 * llama.cpp build, e.g. with CUDA), then the system property {@value #LIB_DIR_PROPERTY} (the pinned
 * prebuilt libraries that {@code ./factory} fetches into its cache). A folder holds {@code libggml-base},
 * {@code libggml} and {@code libllama} ({@code .so}, possibly versioned like {@code libllama.v0.5.0.so}) and
 * any ggml backends ({@code libggml-cpu-*.so}, {@code libggml-cuda.so}); ggml picks the best backend for
 * this machine from that folder.
 *
 * <p>Native libraries are process-global: once loaded they can't be unloaded, and llama.cpp keeps
 * global state (the backend registry, the log callback). So loading happens at most once per process:
 * {@link #load} hands every caller the same runtime, and refuses a second, different folder. This is the
 * one piece of static state in the engine, and it mirrors the process's own.
 */
public final class LlamaRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaRuntime.class);

    public static final String LIB_DIR_ENV = "FACTORY_LLAMA_LIB_DIR";
    public static final String LIB_DIR_PROPERTY = "factory.llama.lib";

    private static final List<String> LIBRARIES = List.of("libggml-base", "libggml", "libllama");
    /** A version of at least two parts in a library's name: {@code .v0.5.0.so} (npm packages), {@code .so.0.0.6000}. */
    private static final Pattern VERSION_IN_NAME = Pattern.compile(
            "lib[a-z-]+(?:\\.[a-z]+)?(?:\\.v([0-9]+(?:\\.[0-9]+)+)\\.so|\\.so\\.([0-9]+(?:\\.[0-9]+)+))");

    private static @Nullable LlamaRuntime loaded; // guarded by LlamaRuntime.class

    private final Path libraryDir;
    private final LlamaLibrary library;
    private @Nullable LlamaTraining training; // guarded by this
    private final boolean gpuOffload;
    private final List<BackendDevice> devices;

    private LlamaRuntime(Path libraryDir, LlamaLibrary library) {
        this.libraryDir = libraryDir;
        this.library = library;
        this.gpuOffload = library.supportsGpuOffload();
        this.devices = enumerate(library);
    }

    /**
     * The runtime from the folder the environment names (see the class comment). Throws {@code UNAVAILABLE}
     * saying what is missing when no folder is named or it holds no usable libraries.
     */
    public static LlamaRuntime load() {
        String property = System.getProperty(LIB_DIR_PROPERTY);
        return load(System.getenv(), property == null ? Map.of() : Map.of(LIB_DIR_PROPERTY, property));
    }

    /** As {@link #load()}, with the environment and system properties given, for tests. */
    static LlamaRuntime load(Map<String, String> env, Map<String, String> properties) {
        Path dir = libraryDir(env, properties).orElseThrow(() -> unavailable(
                "no llama.cpp libraries configured (" + LIB_DIR_ENV + " and -D" + LIB_DIR_PROPERTY + " are unset)"));
        return load(dir);
    }

    /** The folder the environment names, if any. */
    static Optional<Path> libraryDir(Map<String, String> env, Map<String, String> properties) {
        return Stream.of(env.get(LIB_DIR_ENV), properties.get(LIB_DIR_PROPERTY))
                .filter(s -> s != null && !s.isBlank())
                .findFirst()
                .map(Path::of);
    }

    /**
     * The libllama this process would load (see the class comment), found without loading it, with the llama.cpp
     * version its file name carries: for {@code factory -V}, which must stay quick. Empty when no folder is named or
     * it holds no libllama.
     */
    public static Optional<OnDisk> onDisk() {
        String property = System.getProperty(LIB_DIR_PROPERTY);
        return libraryDir(System.getenv(), property == null ? Map.of() : Map.of(LIB_DIR_PROPERTY, property))
                .flatMap(LlamaRuntime::onDisk);
    }

    static Optional<OnDisk> onDisk(Path dir) {
        try {
            // A CMake build's libllama.so links to libllama.so.0.0.N; the version is in the file linked to.
            Path library = findLibrary(dir.toAbsolutePath().normalize(), "libllama");
            return Optional.of(new OnDisk(library, versionOf(library.toRealPath().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** A libllama on disk and the llama.cpp version its name carries ({@code libllama.v0.5.0.so}), if it does. */
    public record OnDisk(Path library, Optional<String> version) {
        public OnDisk {
            requireNonNull(library, "library is null");
            requireNonNull(version, "version is null");
        }

        /** Where they came from, as the launcher recorded it beside the library's folder, if it did. */
        public Optional<Provenance> provenance() {
            Path lib = library.getParent();
            Path parent = lib == null ? null : lib.getParent();
            return parent == null ? Optional.empty() : Provenance.read(parent.resolve(Provenance.FILE));
        }
    }

    /**
     * Where a folder of natives came from ({@code provenance.json} beside its {@code lib/}, which the launcher writes
     * when it fetches them): the npm package and version, the registry's integrity hash of the package (empty when
     * it was not recorded) and the llama.cpp commit of the source bundled with it (empty when unknown).
     */
    public record Provenance(String packageName, String version, String integrity, String llamaCppCommit) {
        public static final String FILE = "provenance.json";

        static Optional<Provenance> read(Path file) {
            try {
                var node = ai.factory.Json.mapper().readTree(file.toFile());
                return Optional.of(new Provenance(node.path("package").asText(""), node.path("version").asText(""),
                        node.path("integrity").asText(""), node.path("llamaCppCommit").asText("")));
            } catch (IOException e) {
                return Optional.empty();
            }
        }

        /**
         * A CycloneDX SBOM with these natives added as a component: the npm package (its package URL, and the
         * registry's SHA-512 of it as a hash) and the llama.cpp source it was built from (its commit, as the
         * component's pedigree). The build's SBOM lists the Maven dependencies; the natives come from npm when the
         * launcher fetches them, so they join it here.
         */
        public byte[] addTo(byte[] sbom) {
            try {
                var bom = (com.fasterxml.jackson.databind.node.ObjectNode) ai.factory.Json.mapper().readTree(sbom);
                var c = bom.withArray("components").addObject();
                String scope = packageName.startsWith("@") ? packageName.substring(1, packageName.indexOf('/')) : "";
                String name = packageName.substring(packageName.indexOf('/') + 1);
                String purl = "pkg:npm/" + (scope.isEmpty() ? "" : "%40" + scope + "/") + name + "@" + version;
                c.put("type", "library").put("bom-ref", purl);
                if (!scope.isEmpty()) {
                    c.put("group", "@" + scope);
                }
                c.put("name", name).put("version", version).put("scope", "required")
                        .put("description", "llama.cpp natives, prebuilt").put("purl", purl);
                if (integrity.startsWith("sha512-")) {
                    c.putArray("hashes").addObject().put("alg", "SHA-512").put("content", java.util.HexFormat.of()
                            .formatHex(java.util.Base64.getDecoder().decode(integrity.substring(7))));
                }
                if (!llamaCppCommit.isEmpty()) {
                    c.putObject("pedigree").putArray("commits").addObject().put("uid", llamaCppCommit);
                }
                return ai.factory.Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(bom);
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("the SBOM cannot take the natives: " + e.getMessage(), e);
            }
        }

        /** {@code @node-llama-cpp/linux-x64 3.22.1 (sha512-…; llama.cpp de3ff81…)}. */
        public String describe() {
            return packageName + " " + version + " (" + (integrity.isEmpty() ? "integrity not recorded" : integrity)
                    + "; llama.cpp " + (llamaCppCommit.isEmpty() ? "commit unknown" : llamaCppCommit) + ")";
        }
    }

    /** {@code 0.5.0} of {@code libllama.v0.5.0.so}, {@code libllama.cuda.v0.5.0.so} or {@code libllama.so.0.5.0}. */
    static Optional<String> versionOf(String fileName) {
        var m = VERSION_IN_NAME.matcher(fileName);
        return m.matches() ? Optional.of(m.group(1) != null ? m.group(1) : m.group(2)) : Optional.empty();
    }

    /** The runtime from one folder; the same runtime again if this process already loaded that folder. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    public static synchronized LlamaRuntime load(Path libraryDir) {
        requireNonNull(libraryDir, "libraryDir is null");
        Path dir = libraryDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw unavailable("the llama.cpp library folder " + dir + " does not exist");
        }
        if (loaded != null) {
            if (!loaded.libraryDir.equals(dir)) {
                throw unavailable("llama.cpp was already loaded from " + loaded.libraryDir
                        + " in this process; a second library folder (" + dir + ") can't be loaded beside it");
            }
            return loaded;
        }
        SymbolLookup symbols = null;
        try {
            for (String name : LIBRARIES) {
                // Loaded for the life of the process (see the class comment), hence the global arena.
                SymbolLookup lookup = SymbolLookup.libraryLookup(findLibrary(dir, name), Arena.global());
                symbols = symbols == null ? lookup : lookup.or(symbols);
            }
        } catch (IllegalArgumentException | IOException e) {
            throw unavailable("cannot load the llama.cpp libraries from " + dir + ": " + e.getMessage());
        }
        LlamaLibrary library;
        try {
            library = new LlamaLibrary(requireNonNull(symbols, "no llama.cpp library to look symbols up in"));
        } catch (UnsatisfiedLinkError e) {
            throw unavailable(String.valueOf(e.getMessage()));
        }
        library.logSet(LlamaLibrary.upcall(LlamaLog.class, "log",
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS)), MemorySegment.NULL);
        try (Arena arena = Arena.ofConfined()) {
            library.backendLoadAllFromPath(arena.allocateFrom(dir.toString()));
        }
        library.backendInit();
        loaded = new LlamaRuntime(dir, library);
        LOG.info("loaded llama.cpp from {}; GPU offload: {}", dir, loaded.offloadSummary());
        return loaded;
    }

    /**
     * {@code <name>.so}, else a versioned {@code <name>.v1.2.3.so} or {@code <name>.so.1}, or a GPU variant's
     * {@code <name>.cuda.v1.2.3.so} (the CUDA package's names).
     */
    static Path findLibrary(Path dir, String name) throws IOException {
        Path plain = dir.resolve(name + ".so");
        if (Files.isRegularFile(plain)) {
            return plain;
        }
        Pattern versioned = Pattern.compile(Pattern.quote(name) + "(\\.[a-z]+)?(\\.v[0-9][0-9.]*\\.so|\\.so\\.[0-9][0-9.]*)");
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> versioned.matcher(f.getFileName().toString()).matches())
                    .sorted()
                    .findFirst()
                    .orElseThrow(() -> new IOException("no " + name + ".so there"));
        }
    }

    static FactoryException unavailable(String why) {
        return new FactoryException(ErrorCode.UNAVAILABLE, "GGUF engine unavailable: " + why + "; set " + LIB_DIR_ENV
                + " or install npm so ./factory can fetch the natives");
    }

    public Path libraryDir() {
        return libraryDir;
    }

    /** Whether these natives can put layers on a GPU ({@code llama_supports_gpu_offload()}): a GPU backend found one. */
    public boolean gpuOffload() {
        return gpuOffload;
    }

    /** The devices of the loaded ggml backends, CPU included, in ggml's order. */
    public List<BackendDevice> devices() {
        return devices;
    }

    /** One line for logs and the fleet view: {@code yes (CUDA0 NVIDIA H100 80GB HBM3, …)} or why not. */
    public String offloadSummary() {
        List<BackendDevice> gpus = devices.stream().filter(d -> d.type().isGpu()).toList();
        if (!gpuOffload || gpus.isEmpty()) {
            return "no (these natives have no GPU backend, or it found no GPU; CPU only)";
        }
        return "yes (" + String.join(", ", gpus.stream().map(d -> d.name() + " " + d.description()).toList()) + ")";
    }

    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    private static List<BackendDevice> enumerate(LlamaLibrary library) {
        List<BackendDevice> out = new java.util.ArrayList<>();
        long count = library.backendDevCount();
        int gpuNumber = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            for (long i = 0; i < count; i++) {
                MemorySegment device = library.backendDevGet(i);
                BackendDevice.Type type = BackendDevice.Type.of(library.backendDevType(device));
                free.set(ValueLayout.JAVA_LONG, 0, 0L);
                total.set(ValueLayout.JAVA_LONG, 0, 0L);
                library.backendDevMemory(device, free, total);
                out.add(new BackendDevice(text(library.backendDevName(device)), text(library.backendDevDescription(device)),
                        type, type.isGpu() ? gpuNumber++ : -1, free.get(ValueLayout.JAVA_LONG, 0),
                        total.get(ValueLayout.JAVA_LONG, 0)));
            }
        }
        return List.copyOf(out);
    }

    @SuppressWarnings("restricted")
    private static String text(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    LlamaLibrary library() {
        return library;
    }

    /** The training bindings, bound on first use: serving never needs them. */
    synchronized LlamaTraining training() {
        if (training == null) {
            training = new LlamaTraining(library.symbols());
        }
        return training;
    }
}
