package ai.factory;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ./factory} launcher's search for a JDK 25+, with fake old JDKs in front of the real one. */
class LauncherTest {
    private static final List<String> TOOLS = List.of("sed", "head", "dirname", "readlink", "find");

    @TempDir
    Path dir;

    record Result(int exit, String out, String err) {}

    private Path fakeJdk(String name, int version) throws IOException {
        Path bin = Files.createDirectories(dir.resolve(name).resolve("bin"));
        String script = "#!/bin/sh\necho '    java.specification.version = " + version + "' >&2\n";
        for (String tool : List.of("java", "javac")) {
            Path p = bin.resolve(tool);
            Files.writeString(p, script);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return dir.resolve(name);
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
        List<String> command = new java.util.ArrayList<>(List.of(which("bash").toString(), "factory"));
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
    void jmhBuildsTheBenchmarksWithTheirProfileAndPassesItsArgumentsToJmh() throws Exception {
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
        Result r = launch(Map.of("JAVA_HOME", jdk.toString(), "PATH", mvnDir + ":" + toolsOnly(),
                "FACTORY_JDK_DIRS", dir.resolve("none").toString()), "jmh", "Placement", "-f", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        String run = r.out().lines().filter(l -> l.startsWith("java ")).reduce((a, b) -> b).orElseThrow();
        assertThat(run).contains("target/jmh/factory.jar:").endsWith(" org.openjdk.jmh.Main Placement -f 2");
        // Built only when the benchmarks' jar is missing or older than the sources, and then with the jmh profile.
        r.err().lines().filter(l -> l.startsWith("mvn ")).forEach(l -> assertThat(l).contains(" -Pjmh package"));
    }
}
