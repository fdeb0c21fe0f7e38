package ai.factory.app;

import ai.factory.BuildInfo;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.models.bundle.ModelBundles;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

/**
 * The factory as this process runs it, for a runtime bundle: the launcher, {@code factory.jar} with its libraries
 * under {@code lib/} (the layout the build makes in {@code target/}), and the llama.cpp natives this process loads,
 * under {@code natives/lib/}. The libraries are the ones the factory's SBOM lists (its runtime dependencies, test
 * libraries never); the factory's own classes, when they run from a folder (a development build), are packed into a
 * jar like the build's.
 */
final class RuntimeFiles {
    private static final String LAUNCHER = "factory";
    private static final String LAUNCHER_RESOURCE = "/META-INF/factory/factory";
    /** The llama.cpp libraries in a natives folder (which may be a system folder named by FACTORY_LLAMA_LIB_DIR). */
    private static final java.util.regex.Pattern NATIVE = java.util.regex.Pattern.compile(
            "lib(llama|ggml|mtmd)[^/]*\\.(so|dylib)(\\..*)?");

    private RuntimeFiles() {}

    static ModelBundles.Runtime ofThisProcess() {
        if (RuntimeFiles.class.getResource(LAUNCHER_RESOURCE) == null) {
            throw new FactoryException(ErrorCode.CONFLICT, "the runtime cannot be bundled: this build has no "
                    + LAUNCHER_RESOURCE + "; build it with Maven");
        }
        List<ModelBundles.RuntimeFile> files = new ArrayList<>();
        files.add(new ModelBundles.RuntimeFile(LAUNCHER, () -> resource(LAUNCHER_RESOURCE), true));
        Path code;
        try {
            code = Path.of(Factory.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Map<String, Path> libraries = libraries();
        if (Files.isRegularFile(code)) {
            files.add(new ModelBundles.RuntimeFile("factory.jar", () -> Files.newInputStream(code), true));
        } else {
            files.add(new ModelBundles.RuntimeFile("factory.jar", () -> new ByteArrayInputStream(jarOf(code,
                    libraries.keySet())), false));
        }
        libraries.forEach((name, jar) -> files.add(new ModelBundles.RuntimeFile("lib/" + name,
                () -> Files.newInputStream(jar), false)));
        String natives = null;
        var llama = LlamaRuntime.onDisk();
        if (llama.isPresent()) {
            Path dir = java.util.Objects.requireNonNull(llama.get().library().getParent(),
                    "a library lies in a folder");
            try (Stream<Path> listed = Files.list(dir)) {
                for (Path f : listed.filter(p -> Files.isRegularFile(p) && NATIVE.matcher(p.getFileName().toString())
                        .matches()).sorted().toList()) {
                    files.add(new ModelBundles.RuntimeFile("natives/lib/" + f.getFileName(),
                            () -> Files.newInputStream(f), true));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list the llama.cpp natives in " + dir, e);
            }
            var provenance = llama.get().provenance();
            Path parent = dir.getParent();
            if (provenance.isPresent() && parent != null) {
                Path recorded = parent.resolve(LlamaRuntime.Provenance.FILE);
                files.add(new ModelBundles.RuntimeFile("natives/" + LlamaRuntime.Provenance.FILE,
                        () -> Files.newInputStream(recorded), true));
                // The runtime's whole SBOM: the build's, with the natives it carries.
                byte[] sbom = BuildInfo.sbom().map(b -> provenance.get().addTo(b)).orElse(null);
                if (sbom != null) {
                    files.add(new ModelBundles.RuntimeFile("sbom.cdx.json", () -> new ByteArrayInputStream(sbom),
                            true));
                }
            }
            natives = "llama.cpp " + llama.get().version().orElse("(version unknown)") + provenance
                    .map(p -> " from " + p.describe()).orElse(BuildInfo.load().llamaNatives()
                            .map(v -> " (node-llama-cpp " + v + ")").orElse(""));
        }
        return new ModelBundles.Runtime(files, LAUNCHER, BuildInfo.load().factoryLine(), natives);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = RuntimeFiles.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("this build has no " + name + "; build it with Maven");
        }
        return in;
    }

    /**
     * The jars of the factory's runtime dependencies, by file name: those the SBOM lists, found on this process's
     * class path (with the jars its jars' manifests add to it).
     */
    private static Map<String, Path> libraries() {
        JsonNode sbom;
        try (InputStream in = resource(BuildInfo.SBOM)) {
            sbom = Json.mapper().readTree(in);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.CONFLICT, "the runtime cannot be bundled: " + e.getMessage());
        }
        Set<String> prefixes = new LinkedHashSet<>();
        for (JsonNode c : sbom.path("components")) {
            prefixes.add(c.path("name").asText() + "-" + c.path("version").asText());
        }
        Map<String, Path> found = new LinkedHashMap<>();
        for (Path jar : classPath()) {
            String name = jar.getFileName().toString();
            if (name.endsWith(".jar") && prefixes.stream().anyMatch(p -> name.equals(p + ".jar")
                    || name.startsWith(p + "-") && !Character.isDigit(name.charAt(p.length() + 1)))) {
                found.putIfAbsent(name, jar);
            }
        }
        return found;
    }

    /** The class path's jars, with those their manifests' {@code Class-Path} adds (the jar's own, or a launcher's). */
    private static List<Path> classPath() {
        Set<Path> seen = new LinkedHashSet<>();
        List<Path> queue = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            if (!entry.isBlank()) {
                queue.add(Path.of(entry).toAbsolutePath().normalize());
            }
        }
        while (!queue.isEmpty()) {
            Path p = queue.removeFirst();
            if (!Files.isRegularFile(p) || !seen.add(p)) {
                continue;
            }
            try (JarFile jar = new JarFile(p.toFile())) {
                Manifest m = jar.getManifest();
                String more = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
                for (String item : more == null ? new String[0] : more.trim().split("\\s+")) {
                    try {
                        queue.add(item.startsWith("file:") ? Path.of(java.net.URI.create(item))
                                : p.resolveSibling(item).normalize());
                    } catch (IllegalArgumentException e) {
                        // an entry that is no file: nothing of the factory's
                    }
                }
            } catch (IOException e) {
                // not a jar
            }
        }
        return List.copyOf(seen);
    }

    /** The factory's classes in a folder, packed as the build packs them: runnable, its libraries in lib/. */
    private static byte[] jarOf(Path classes, Set<String> libraries) throws IOException {
        Manifest manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.put(Attributes.Name.MAIN_CLASS, "ai.factory.cli.FactoryCli");
        a.put(Attributes.Name.CLASS_PATH, String.join(" ", libraries.stream().map(l -> "lib/" + l).toList()));
        a.putValue("Enable-Native-Access", "ALL-UNNAMED");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, manifest); Stream<Path> walk = Files.walk(classes)) {
            // Folders get entries too, as the build's jar has them: class-path scanners (Flyway's, for its
            // migrations) find a folder of resources by its entry.
            for (Path f : walk.filter(p -> !p.equals(classes)).sorted().toList()) {
                String name = classes.relativize(f).toString().replace('\\', '/');
                if (name.equals("META-INF/MANIFEST.MF") || name.equals("META-INF")) {
                    continue;
                }
                boolean folder = Files.isDirectory(f);
                jar.putNextEntry(new ZipEntry(folder ? name + "/" : name));
                if (!folder) {
                    Files.copy(f, jar);
                }
                jar.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
