package ai.factory;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./factory} launcher: its search for a JDK 25+, with fake old JDKs in front of the real one, and its
 * start-up cache (a JDK AOT cache made after each build), with the real JDK and a small jar built here.
 */
@ServerTest
class LauncherTest {
    private static final List<String> TOOLS = List.of("sed", "head", "dirname", "readlink", "find", "mv", "rm", "cp",
            "mkdir", "uname");

    @TempDir
    Path dir;

    record Result(int exit, String out, String err) {}

    /** A JDK whose java says its version when asked, and records in {@code NAME.ran} that it was. */
    private Path fakeJdk(String name, int version) throws IOException {
        Path bin = Files.createDirectories(dir.resolve(name).resolve("bin"));
        String script = "#!/bin/sh\necho \"$*\" >> '" + dir.resolve(name + ".ran") + "'\n"
                + "echo '    java.specification.version = " + version + "' >&2\n";
        for (String tool : List.of("java", "javac")) {
            Path p = bin.resolve(tool);
            Files.writeString(p, script);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir.resolve(name);
    }

    /** As {@link #fakeJdk}, with the release file every JDK image has. */
    private Path fakeJdkWithRelease(String name, String javaVersion) throws IOException {
        Path jdk = fakeJdk(name, 0);
        Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"Test\"\nJAVA_RUNTIME_VERSION=\"" + javaVersion
                + "+1\"\nJAVA_VERSION=\"" + javaVersion + "\"\nMODULES=\"java.base\"\n");
        return jdk;
    }

    /** A PATH holding only the shell tools the launcher uses, so no java of this machine is on it. */
    private Path toolsOnly() throws IOException {
        Path tools = dir.resolve("tools");
        if (Files.isDirectory(tools)) {
            return tools;
        }
        Files.createDirectories(tools);
        for (String tool : TOOLS) {
            Path wrapper = tools.resolve(tool);
            Files.writeString(wrapper, "#!" + which("bash") + "\nexec " + which(tool) + " \"$@\"\n");
            Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return tools;
    }

    private static Path which(String tool) {
        return Arrays.stream(System.getenv("PATH").split(":")).map(p -> Path.of(p, tool))
                .filter(Files::isExecutable).findFirst().orElseThrow(() -> new AssertionError(tool + " not found"));
    }

    private Result launch(Map<String, String> env, String... args) throws Exception {
        return launch(Path.of("factory"), env, args);
    }

    private Result launch(Path launcher, Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(which("bash").toString(), launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().put("HOME", dir.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out, err);
    }

    @Test
    void skipsAnOldJavaHomeAndFindsAJdk25InTheUsualPlaces() throws Exception {
        Path old = fakeJdk("jdk-17", 17);
        Path real = Path.of(System.getProperty("java.home"));
        Result r = launch(Map.of("JAVA_HOME", old.toString(),
                "PATH", old.resolve("bin") + ":" + toolsOnly(),
                "FACTORY_JDK_DIRS", dir.resolve("jdk-17") + " " + real), "jdk");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Path.of(r.out().strip()).toRealPath()).isEqualTo(real.toRealPath());
    }

    @Test
    void prefersJavaHomeWhenItIsNewEnough() throws Exception {
        Path newer = fakeJdk("jdk-26", 26);
        Result r = launch(Map.of("JAVA_HOME", newer.toString(), "PATH", toolsOnly().toString(),
                "FACTORY_JDK_DIRS", dir.resolve("none").toString()), "jdk");
        assertThat(r.out().strip()).isEqualTo(newer.toString());
    }

    @Test
    void readsAJdksVersionFromItsReleaseFileWithoutStartingIt() throws Exception {
        Path old = fakeJdkWithRelease("jdk-21", "21.0.9");
        Path newer = fakeJdkWithRelease("jdk-25", "25.0.1");
        Result r = launch(Map.of("JAVA_HOME", old.toString(), "PATH", toolsOnly().toString(),
                "FACTORY_JDK_DIRS", old + " " + newer), "jdk");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(newer.toString());
        assertThat(dir.resolve("jdk-21.ran")).doesNotExist();
        assertThat(dir.resolve("jdk-25.ran")).doesNotExist();
    }

    @Test
    void asksAJdkWithoutAReleaseFileForItsVersion() throws Exception {
        Path jdk = fakeJdk("jdk-25", 25);
        Result r = launch(Map.of("JAVA_HOME", jdk.toString(), "PATH", toolsOnly().toString(),
                "FACTORY_JDK_DIRS", dir.resolve("none").toString()), "jdk");

        assertThat(r.out().strip()).isEqualTo(jdk.toString());
        assertThat(dir.resolve("jdk-25.ran")).content().contains("-version");
    }

    @Test
    void saysWhatToInstallWhenNoJdk25Exists() throws Exception {
        Path old = fakeJdk("jdk-21", 21);
        Result r = launch(Map.of("JAVA_HOME", old.toString(), "PATH", old.resolve("bin") + ":" + toolsOnly(),
                "FACTORY_JDK_DIRS", dir.resolve("jdk-21").toString()), "up");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("factory: needs a JDK 25 or newer").doesNotContain("\n");
    }

    @Test
    void mavenRunsInBatchModeAndPrintsNoColourCodes() throws Exception {
        Path mvn = Arrays.stream(System.getenv("PATH").split(":")).map(p -> Path.of(p, "mvn"))
                .filter(Files::isExecutable).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(mvn != null, "mvn is not on the PATH");
        // The real Maven, as the launcher calls it, told to print its version and stop instead of building.
        Path wrapper = Files.createDirectories(dir.resolve("maven"));
        Files.writeString(wrapper.resolve("mvn"), "#!/bin/sh\nexec " + mvn + " \"$@\" -v\n");
        Files.setPosixFilePermissions(wrapper.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Result r = launch(Map.of("JAVA_HOME", System.getProperty("java.home"), "PATH", wrapper + ":" + System.getenv("PATH"),
                "FACTORY_JDK_DIRS", dir.resolve("none").toString()), "build");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Apache Maven");
        assertThat(r.out() + r.err()).as("escape codes in what Maven printed").doesNotContain("\u001b");
    }

    @Test
    void jmhBuildsTheBenchmarksWithTheirProfileAndPassesItsArgumentsAndTheNativesToJmh() throws Exception {
        // A JDK whose java prints the command it was given, and a mvn that only says how it was called: the
        // launcher's own steps, without building or benchmarking anything.
        Path jdk = fakeJdk("jdk-25", 25);
        Files.writeString(jdk.resolve("bin/java"), """
                #!/bin/sh
                echo '    java.specification.version = 25' >&2
                echo "java $*"
                """);
        Path mvnDir = Files.createDirectories(dir.resolve("maven"));
        Files.writeString(mvnDir.resolve("mvn"), "#!/bin/sh\necho \"mvn $*\" >&2\n");
        Files.setPosixFilePermissions(mvnDir.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path natives = cachedNatives();
        Result r = launch(Map.of("JAVA_HOME", jdk.toString(), "PATH", mvnDir + ":" + toolsOnly(),
                "FACTORY_JDK_DIRS", dir.resolve("none").toString(), "FACTORY_CACHE_DIR", dir.resolve("cache").toString()),
                "jmh", "Placement", "-f", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        String run = r.out().lines().filter(l -> l.startsWith("java ")).reduce((a, b) -> b).orElseThrow();
        assertThat(run).contains("target/jmh/factory.jar:").endsWith(" org.openjdk.jmh.Main Placement -f 2");
        // The benchmarks that load GGUF models find llama.cpp as the server does; JMH's forks inherit these options.
        assertThat(run).contains(" --enable-native-access=ALL-UNNAMED ", " -Dfactory.llama.lib=" + natives + " ");
        // Built only when the benchmarks' jar is missing or older than the sources, and then with the jmh profile.
        r.err().lines().filter(l -> l.startsWith("mvn ")).forEach(l -> assertThat(l).contains(" -Pjmh package"));
    }

    @Test
    void aBuildIsFollowedByAStartUpCacheThatLaterCommandsUse() throws Exception {
        Path root = project(cliJar("first", "FactoryCli.main(new String[] {\"--version\"});"));

        Result built = launchIn(root, Map.of(), "--version");
        assertThat(built.exit()).as(built.err()).isZero();
        assertThat(built.out()).isEqualTo("factory --version\n");
        assertThat(built.err()).contains("factory: building", "factory: preparing the start-up cache");
        assertThat(root.resolve("target/factory.aot")).isNotEmptyFile();

        Result next = launchIn(root, Map.of(), "models", "list");
        assertThat(next.exit()).as(next.err()).isZero();
        assertThat(next.out()).isEqualTo("factory models list\n");
        assertThat(next.err()).as("neither built nor trained again").isEmpty();

        // Other JVM options get a cache made with them, which the JVM then maps.
        Path classes = dir.resolve("classes.log");
        Map<String, String> logged = Map.of("FACTORY_JAVA_OPTS", "-Xlog:class+load:file=" + classes);
        assertThat(launchIn(root, logged, "--version").err()).contains("preparing the start-up cache");
        Result mapped = launchIn(root, logged, "--version");
        assertThat(mapped.err()).isEmpty();
        assertThat(Files.readString(classes)).contains("ai.factory.cli.FactoryCli source: shared objects file");

        // A changed source: built again, and its cache made again.
        Files.writeString(root.resolve("src/main/Changed.java"), "// newer than the jar");
        Result rebuilt = launchIn(root, Map.of(), "--help");
        assertThat(rebuilt.exit()).as(rebuilt.err()).isZero();
        assertThat(rebuilt.out()).isEqualTo("factory --help\n");
        assertThat(rebuilt.err()).contains("factory: building", "factory: preparing the start-up cache");
    }

    @Test
    void aCacheTheJvmCannotUseLeavesTheCommandAndItsOutputAsTheyWere() throws Exception {
        Path root = project(cliJar("good", "FactoryCli.main(new String[0]);"));
        assertThat(launchIn(root, Map.of(), "--version").exit()).isZero();

        // Not a cache at all, though newer than the jar, as a good one is.
        Files.write(root.resolve("target/factory.aot"), new byte[4096]);
        Result garbage = launchIn(root, Map.of(), "keys", "list", "--json");
        assertThat(garbage.exit()).as(garbage.err()).isZero();
        assertThat(garbage.out()).isEqualTo("factory keys list --json\n");
        assertThat(garbage.err()).isEmpty();

        // A good cache of another jar: a jar put in place behind the launcher's back, the cache's mark made newer.
        assertThat(launchIn(root, Map.of("FACTORY_JAVA_OPTS", "-Xss2m"), "--version").err()).contains("preparing");
        Files.copy(cliJar("other", "FactoryCli.main(new String[0]);"), root.resolve("target/factory.jar"),
                StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(root.resolve("target/factory.aot.made"), FileTime.from(Instant.now().plusSeconds(5)));
        Files.setLastModifiedTime(root.resolve("target/factory.aot"), FileTime.from(Instant.now().plusSeconds(5)));
        Result stale = launchIn(root, Map.of("FACTORY_JAVA_OPTS", "-Xss2m"), "deploy", "acme/tiny");
        assertThat(stale.exit()).as(stale.err()).isZero();
        assertThat(stale.out()).isEqualTo("factory deploy acme/tiny\n");
        assertThat(stale.err()).isEmpty();
    }

    @Test
    void aFailedTrainingRunIsOneWarningAndCommandsRunWithoutACache() throws Exception {
        Path root = project(cliJar("failing", "System.exit(3);"));

        Result first = launchIn(root, Map.of(), "--version");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).isEqualTo("factory --version\n");
        assertThat(first.err().lines().filter(l -> l.contains("warning"))).singleElement().asString()
                .contains("could not prepare the start-up cache", "target/factory.aot.log");

        Result second = launchIn(root, Map.of(), "--version");
        assertThat(second.exit()).isZero();
        assertThat(second.out()).isEqualTo("factory --version\n");
        assertThat(second.err()).as("not tried again for the same jar").isEmpty();
        assertThat(root.resolve("target/factory.aot")).doesNotExist();
    }

    @Test
    void anInstalledRuntimeRunsItsJarWithItsOwnNativesAndNeverBuildsOrFetches() throws Exception {
        Path root = Files.createDirectories(dir.resolve("installed"));
        Files.copy(Path.of("factory"), root.resolve("factory"));
        Files.copy(cliJar("installed", ""), root.resolve("factory.jar"));
        Files.createDirectories(root.resolve("natives/lib"));
        Path trap = Files.createDirectories(dir.resolve("trap"));
        for (String tool : List.of("mvn", "npm", "git")) {
            Files.writeString(trap.resolve(tool), "#!" + which("bash") + "\ntouch '" + dir.resolve(tool + ".ran")
                    + "'\nexit 1\n");
            Files.setPosixFilePermissions(trap.resolve(tool), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Map<String, String> env = Map.of("JAVA_HOME", System.getProperty("java.home"), "PATH", trap + ":"
                + toolsOnly(), "FACTORY_CACHE_DIR", dir.resolve("empty-cache").toString());
        Result run = launch(root.resolve("factory"), env, "models", "list");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().strip()).isEqualTo("factory models list");
        assertThat(run.err()).as("nothing built or fetched").isEmpty();
        for (String tool : List.of("mvn", "npm", "git")) {
            assertThat(dir.resolve(tool + ".ran")).as(tool).doesNotExist();
        }
        assertThat(dir.resolve("empty-cache")).doesNotExist();
        for (String command : List.of("test", "build", "jmh", "image")) {
            Result refused = launch(root.resolve("factory"), env, command);
            assertThat(refused.exit()).isEqualTo(2);
            assertThat(refused.err()).contains("this is an installed runtime", "without the sources");
        }
    }

    /**
     * A copy of the launcher in a project of its own, whose build (a fake mvn) puts {@code jar} in place; the llama.cpp
     * natives are already in its cache.
     */
    private Path project(Path jar) throws IOException {
        Path root = Files.createDirectories(dir.resolve("project"));
        Files.copy(Path.of("factory"), root.resolve("factory"));
        Files.copy(Path.of("pom.xml"), root.resolve("pom.xml"));
        Files.createDirectories(root.resolve("src/main"));
        FileTime before = FileTime.from(Instant.now().minusSeconds(60));
        Files.setLastModifiedTime(root.resolve("pom.xml"), before);
        Files.setLastModifiedTime(root.resolve("src/main"), before);
        Path maven = Files.createDirectories(dir.resolve("maven"));
        Files.writeString(maven.resolve("mvn"), "#!" + which("bash") + "\nmkdir -p target && cp '" + jar
                + "' target/factory.jar\n");
        Files.setPosixFilePermissions(maven.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
        cachedNatives();
        return root;
    }

    /** The llama.cpp natives' folder, made ready in the cache {@code dir/cache} as a finished fetch leaves it. */
    private Path cachedNatives() throws IOException {
        Matcher version = Pattern.compile("<llama\\.natives\\.version>([^<]+)<").matcher(Files.readString(Path.of("pom.xml")));
        assertThat(version.find()).isTrue();
        Path natives = Files.createDirectories(dir.resolve("cache").resolve("llama-" + version.group(1)).resolve("lib"));
        Files.writeString(natives.resolveSibling(".complete"), "");
        return natives;
    }

    private Result launchIn(Path root, Map<String, String> env, String... args) throws Exception {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putAll(Map.of("JAVA_HOME", System.getProperty("java.home"), "PATH", dir.resolve("maven") + ":" + toolsOnly(),
                "FACTORY_CACHE_DIR", dir.resolve("cache").toString()));
        return launch(root.resolve("factory"), all, args);
    }

    /** A jar whose FactoryCli prints its arguments and whose StartupTraining runs {@code training}. */
    private Path cliJar(String name, String training) throws IOException {
        Path src = Files.createDirectories(dir.resolve(name + "-src"));
        Files.writeString(src.resolve("FactoryCli.java"), """
                package ai.factory.cli;
                public final class FactoryCli {
                    public static void main(String[] args) {
                        System.out.println(String.join(" ", "factory", String.join(" ", args)).strip());
                    }
                }
                """);
        Files.writeString(src.resolve("StartupTraining.java"), "package ai.factory.cli;\n"
                + "public final class StartupTraining {\n    public static void main(String[] args) {\n        " + training
                + "\n    }\n}\n");
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        assertThat(ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(),
                src.resolve("FactoryCli.java").toString(), src.resolve("StartupTraining.java").toString())).isZero();
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "ai.factory.cli.FactoryCli");
        Path jar = dir.resolve(name + ".jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            for (String type : List.of("FactoryCli", "StartupTraining")) {
                out.putNextEntry(new JarEntry("ai/factory/cli/" + type + ".class"));
                out.write(Files.readAllBytes(classes.resolve("ai/factory/cli/" + type + ".class")));
                out.closeEntry();
            }
        }
        return jar;
    }
}
