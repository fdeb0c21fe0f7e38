package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The npm client libraries the tests run, at the versions pinned in {@code src/test/node/package-lock.json},
 * installed once with {@code npm ci} into a folder outside the repository (under the factory's cache folder, named
 * by the lock file's hash, so a new pin installs afresh) and run with Node.js.
 */
final class NodeClients {
    private static final Path SOURCES = Path.of("src/test/node");

    private NodeClients() {}

    /** Whether {@code node} and {@code npm} run here. */
    static boolean available() {
        return runs("node", "--version") && runs("npm", "--version");
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** The folder holding {@code node_modules} with the pinned packages, installing them the first time. */
    static synchronized Path installed() throws Exception {
        byte[] lock = Files.readAllBytes(SOURCES.resolve("package-lock.json"));
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(lock)).substring(0, 16);
        String cache = System.getenv("FACTORY_CACHE_DIR");
        Path base = cache != null ? Path.of(cache) : Path.of(System.getenv().getOrDefault("XDG_CACHE_HOME",
                System.getProperty("user.home") + "/.cache"), "sovereign-ai-factory");
        Path dir = base.resolve("test-clients").resolve("node-" + hash);
        Path installed = dir.resolve(".installed");
        if (Files.exists(installed)) {
            return dir;
        }
        Files.createDirectories(dir);
        // Test forks are separate JVMs: one installs while the others wait on the lock file, and none takes a
        // node_modules that npm is still filling (it is marked installed only once npm ci has finished).
        try (var channel = java.nio.channels.FileChannel.open(dir.resolveSibling("node-" + hash + ".lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             var held = channel.lock()) {
            if (Files.exists(installed)) {
                return dir;
            }
            Files.copy(SOURCES.resolve("package.json"), dir.resolve("package.json"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.write(dir.resolve("package-lock.json"), lock);
            ClientProcess.Result r = run(dir, Map.of(), 300, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error");
            assertThat(r.exit()).as("npm ci in %s: %s", dir, r.err()).isZero();
            Files.writeString(installed, "npm ci finished\n");
        }
        return dir;
    }

    /** Runs {@code script} (a file under {@code src/test/node}) with Node.js in the installed folder. */
    static ClientProcess.Result node(String script, Map<String, String> env) throws Exception {
        Path dir = installed();
        Files.copy(SOURCES.resolve(script), dir.resolve(script), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return run(dir, env, 180, "node", script);
    }

    /**
     * Starts {@code script} (a file under {@code src/test/node}) as a server with Node.js and returns once it printed
     * a line holding {@code ready}; the caller stops it. Its output is kept draining.
     */
    static Process start(String script, Map<String, String> env, String ready) throws Exception {
        Path dir = installed();
        Files.copy(SOURCES.resolve(script), dir.resolve(script), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ProcessBuilder pb = new ProcessBuilder("node", script).directory(dir.toFile()).redirectErrorStream(true);
        ClientProcess.clientDefaults(pb.environment(), dir);
        pb.environment().putAll(env);
        Process process = pb.start();
        java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = out.readLine()) != null; ) {
            seen.append(line).append('\n');
            if (line.contains(ready)) {
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
                return process;
            }
        }
        process.destroyForcibly();
        throw new AssertionError(script + " did not start: " + seen);
    }

    private static ClientProcess.Result run(Path dir, Map<String, String> env, int seconds, String... command)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        ClientProcess.clientDefaults(pb.environment(), dir);
        pb.environment().putAll(env);
        return ClientProcess.run(pb, seconds);
    }
}
