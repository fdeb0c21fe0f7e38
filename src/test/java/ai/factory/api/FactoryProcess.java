package ai.factory.api;

import ai.factory.TestFactory;
import ai.factory.TestModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A factory in a process of its own, for tests that kill it: started on the home given as the first argument with
 * the test model deployed as {@code acme/tiny} (two slots, a large context), it prints {@code url …} and
 * {@code key …}, then {@code ready}, and serves until it is killed. {@link Child} starts one from a test.
 */
public final class FactoryProcess {
    private FactoryProcess() {}

    public static void main(String[] args) throws Exception {
        TestFactory factory;
        try {
            factory = TestFactory.start(Path.of(args[0]));
            factory.deployGguf("acme/tiny", TestModels.tinyLlama(), "\"parallel\": 2, \"context\": 131072, \"threads\": 1");
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
            return;
        }
        System.out.println("url " + factory.url());
        System.out.println("key " + factory.adminKey());
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** A {@link FactoryProcess} started by a test with this JVM's options and class path, and what it printed. */
    public static final class Child implements AutoCloseable {
        private final Process process;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final String url;
        private final String key;

        private Child(Process process) throws IOException {
            this.process = process;
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            List<String> before = new ArrayList<>();
            String u = null;
            String k = null;
            for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
                before.add(line);
                u = line.startsWith("url ") ? line.substring(4) : u;
                k = line.startsWith("key ") ? line.substring(4) : k;
            }
            if (u == null || k == null) {
                process.destroyForcibly();
                throw new AssertionError("the factory process did not start: "
                        + before.subList(Math.max(0, before.size() - 30), before.size()));
            }
            this.url = u;
            this.key = k;
            Thread.ofVirtual().start(() -> { // keeps the child's pipe drained until it dies
                try {
                    out.lines().forEach(lines::add);
                } catch (java.io.UncheckedIOException e) {
                    // the child was killed and its pipe closed
                }
            });
        }

        /** Starts a factory process on {@code home} with the given extra system properties. */
        public static Child start(Path home, Map<String, String> properties) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = new ArrayList<>(List.of(java));
            command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                    .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList());
            System.getProperties().stringPropertyNames().stream().filter(n -> n.startsWith("factory."))
                    .forEach(n -> command.add("-D" + n + "=" + System.getProperty(n)));
            properties.forEach((name, value) -> command.add("-D" + name + "=" + value));
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), FactoryProcess.class.getName(),
                    home.toString()));
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        public String url() {
            return url;
        }

        public String adminKey() {
            return key;
        }

        /** Waits for the child to print {@code expected}, failing with what it printed meanwhile. */
        public void awaitLine(String expected, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            List<String> seen = new ArrayList<>();
            while (System.nanoTime() < deadline) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (expected.equals(line)) {
                    return;
                }
                if (line != null) {
                    seen.add(line);
                }
            }
            throw new AssertionError("the factory process never printed '" + expected + "'; its last lines: "
                    + seen.subList(Math.max(0, seen.size() - 30), seen.size()));
        }

        /** Kills the child with SIGKILL and returns its exit status once it is gone. */
        public int kill() throws InterruptedException {
            process.destroyForcibly();
            if (!process.waitFor(1, TimeUnit.MINUTES)) {
                throw new AssertionError("the factory process outlived SIGKILL for a minute");
            }
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
