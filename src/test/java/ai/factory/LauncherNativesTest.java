package ai.factory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's fetch of the llama.cpp natives ({@code ./factory natives}), with a fake {@code npm} that
 * hands out small packages built here, shaped like the real ones: the fetch happens once, lands whole in
 * the cache, and a missing or failing npm is one warning, not a failed launch.
 */
@ServerTest
class LauncherNativesTest {
    private static final List<String> TOOLS = List.of("sed", "head", "dirname", "readlink", "uname", "mkdir", "mktemp",
            "tar", "gzip", "find", "cp", "mv", "rm", "touch", "ls", "git", "cat");

    @TempDir
    Path dir;

    record Result(int exit, String out, String err) {}

    @Test
    void fetchesTheNativesOnceIntoTheCache() throws Exception {
        assumeTrue(System.getProperty("os.arch").equals("amd64") && onPath("git"), "needs linux-x64 and git");
        String version = pinnedVersion();
        Path npm = fakeNpm(packages(version), "");

        Result first = launch(npm);
        Result second = launch(npm);

        Path cache = dir.resolve("cache").resolve("llama-" + version);
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out().strip()).isEqualTo(cache.resolve("lib").toString());
        assertThat(cache.resolve("lib").resolve("libllama.v0.5.0.so")).hasContent("not really a library");
        assertThat(cache.resolve("src").resolve("include").resolve("llama.h")).hasContent("// the header");
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(Files.readAllLines(dir.resolve("npm.calls"))).containsExactly(
                "pack @node-llama-cpp/linux-x64@" + version + " --pack-destination " + tempFolder(first) + " --json",
                "pack node-llama-cpp@" + version + " --pack-destination " + tempFolder(first));
        // Where the natives came from: the package, the registry's integrity hash npm reported, the source's commit.
        var provenance = ai.factory.Json.mapper().readTree(cache.resolve("provenance.json").toFile());
        assertThat(provenance.path("package").asText()).isEqualTo("@node-llama-cpp/linux-x64");
        assertThat(provenance.path("version").asText()).isEqualTo(version);
        assertThat(provenance.path("integrity").asText()).isEqualTo("sha512-bm90IHJlYWxseQ==");
        assertThat(provenance.path("llamaCppCommit").asText()).matches("[0-9a-f]{40}");
        try (Stream<Path> left = Files.list(dir.resolve("cache"))) {
            assertThat(left).containsExactly(cache);
        }
    }

    @Test
    void theCudaVariantIsFetchedAtTheSameVersionIntoItsOwnFolder() throws Exception {
        assumeTrue(System.getProperty("os.arch").equals("amd64") && onPath("git"), "needs linux-x64 and git");
        String version = pinnedVersion();
        Path npm = fakeNpm(packages(version, "linux-x64-cuda", "libllama.cuda.v0.5.0.so"), "");

        Result flag = launch(npm, Map.of(), "--cuda");
        Result env = launch(npm, Map.of("FACTORY_LLAMA_VARIANT", "cuda"));

        Path cache = dir.resolve("cache").resolve("llama-" + version + "-cuda");
        assertThat(flag.exit()).as(flag.err()).isZero();
        assertThat(flag.out().strip()).isEqualTo(cache.resolve("lib").toString());
        assertThat(cache.resolve("lib").resolve("libllama.cuda.v0.5.0.so")).hasContent("not really a library");
        assertThat(env.out()).isEqualTo(flag.out());
        assertThat(Files.readAllLines(dir.resolve("npm.calls"))).hasSize(2).first().asString()
                .startsWith("pack @node-llama-cpp/linux-x64-cuda@" + version + " ");
        assertThat(dir.resolve("cache").resolve("llama-" + version)).as("the CPU variant's folder").doesNotExist();
    }

    @Test
    void anUnknownVariantIsAUsageError() throws Exception {
        Result result = launch(null, Map.of("FACTORY_LLAMA_VARIANT", "rocm"));
        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.err()).contains("FACTORY_LLAMA_VARIANT must be cpu or cuda, not 'rocm'");
    }

    @Test
    void aFailingNpmIsOneWarningAndLeavesNoCache() throws Exception {
        Path npm = fakeNpm(dir, "exit 1");

        Result result = launch(npm);

        assertThat(result.exit()).isEqualTo(1);
        assertThat(result.err().lines().filter(l -> l.contains("warning"))).singleElement().asString()
                .contains("GGUF models unavailable", "FACTORY_LLAMA_LIB_DIR");
        assertThat(dir.resolve("cache").resolve("llama-" + pinnedVersion())).doesNotExist();
    }

    @Test
    void withoutNpmTheLauncherWarnsOnce() throws Exception {
        Result result = launch(null);

        assertThat(result.exit()).isEqualTo(1);
        assertThat(result.err().strip()).startsWith("factory: warning: GGUF models unavailable: npm is not installed")
                .doesNotContain("\n");
    }

    /** The folder the fetch worked in, as the fake npm recorded it. */
    private String tempFolder(Result first) throws IOException {
        return Files.readAllLines(dir.resolve("npm.calls")).getFirst().replaceFirst(".* --pack-destination ", "")
                .replaceFirst(" --json$", "");
    }

    private static String pinnedVersion() throws IOException {
        Matcher m = Pattern.compile("<llama\\.natives\\.version>([^<]+)<").matcher(Files.readString(Path.of("pom.xml")));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    /** The two npm packages, shaped like the real ones, holding a fake library and a git bundle with llama.h. */
    private Path packages(String version) throws Exception {
        return packages(version, "linux-x64", "libllama.v0.5.0.so");
    }

    /** As above for the platform package {@code platform} (e.g. {@code linux-x64-cuda}) holding {@code library}. */
    private Path packages(String version, String platform, String library) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Path bins = Files.createDirectories(work.resolve("linux").resolve("package").resolve("bins").resolve(platform));
        Files.writeString(bins.resolve(library), "not really a library");
        Path repo = Files.createDirectories(work.resolve("repo").resolve("include"));
        Files.writeString(repo.resolve("llama.h"), "// the header");
        Path source = work.resolve("repo");
        run(source, "git", "init", "-q");
        run(source, "git", "add", ".");
        run(source, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "llama");
        Path bundle = Files.createDirectories(work.resolve("main").resolve("package").resolve("llama"));
        run(source, "git", "bundle", "create", "-q", bundle.resolve("gitRelease.bundle").toString(), "HEAD");
        Path packages = Files.createDirectories(dir.resolve("packages"));
        run(work.resolve("linux"), "tar", "-czf", packages.resolve("node-llama-cpp-" + platform + "-" + version + ".tgz").toString(), "package");
        run(work.resolve("main"), "tar", "-czf", packages.resolve("node-llama-cpp-" + version + ".tgz").toString(), "package");
        return packages;
    }

    /** An npm whose {@code pack NAME@VERSION --pack-destination DIR} copies from {@code packages}. */
    private Path fakeNpm(Path packages, String body) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("npm-bin"));
        String script = "#!" + which("bash") + "\n"
                + "echo \"$*\" >> '" + dir.resolve("npm.calls") + "'\n"
                + body + "\n"
                + "name=\"${2%@*}\"; version=\"${2##*@}\"\n"
                + "file=\"$(echo \"$name\" | sed 's:^@node-llama-cpp/:node-llama-cpp-:')-$version.tgz\"\n"
                + "cp '" + packages + "'/\"$file\" \"$4\"/\n"
                // npm pack --json reports what it packed, the registry's integrity hash among it.
                + "if [ \"${5:-}\" = --json ]; then echo '[{\"filename\": \"x.tgz\", \"integrity\": "
                + "\"sha512-bm90IHJlYWxseQ==\"}]'; fi\n";
        Path npm = bin.resolve("npm");
        Files.writeString(npm, script);
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private Result launch(Path npmBin) throws Exception {
        return launch(npmBin, Map.of());
    }

    private Result launch(Path npmBin, Map<String, String> env, String... args) throws Exception {
        Path tools = Files.createDirectories(dir.resolve("tools"));
        for (String tool : TOOLS) {
            Path wrapper = tools.resolve(tool);
            if (!Files.exists(wrapper) && onPath(tool)) {
                Files.writeString(wrapper, "#!" + which("bash") + "\nexec " + which(tool) + " \"$@\"\n");
                Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        List<String> command = new ArrayList<>(List.of(which("bash").toString(), "factory", "natives"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.environment().putAll(Map.of("HOME", dir.toString(),
                "JAVA_HOME", System.getProperty("java.home"),
                "FACTORY_CACHE_DIR", dir.resolve("cache").toString(),
                "PATH", (npmBin == null ? "" : npmBin + ":") + tools));
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out, err);
    }

    private static void run(Path in, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(in.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", Arrays.toString(command), output).isZero();
    }

    private static boolean onPath(String tool) {
        return Arrays.stream(System.getenv("PATH").split(":")).anyMatch(p -> Files.isExecutable(Path.of(p, tool)));
    }

    private static Path which(String tool) {
        return Arrays.stream(System.getenv("PATH").split(":")).map(p -> Path.of(p, tool))
                .filter(Files::isExecutable).findFirst().orElseThrow(() -> new AssertionError(tool + " not found"));
    }
}
