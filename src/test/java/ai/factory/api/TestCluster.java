package ai.factory.api;

import ai.factory.Json;
import ai.factory.cluster.Worker;
import ai.factory.cluster.WorkerReplicas;
import ai.factory.config.Setting;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.storage.TestDatabases;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The parts of a cluster on this machine that the cluster tests start: settings, workers, factory processes. */
final class TestCluster {
    static final Map<String, Object> INVENTORY = Map.of("name", "test", "cpu", Map.of("cores", 2));

    private TestCluster() {
    }

    /** A worker as {@code factory worker} runs one, in this JVM: its replicas, its serving port, its heartbeats. */
    record RunningWorker(Worker worker, WorkerReplicas replicas, WorkerServer serving, Thread heartbeats, Path home)
            implements AutoCloseable {
        @Override
        public void close() {
            heartbeats.interrupt();
            serving.close();
            replicas.close();
        }
    }

    /**
     * A control plane's settings on {@code database}: role control, a fixed free cluster port (so that workers find
     * it again after a restart), a heartbeat deadline of 3 s.
     */
    static Map<Setting, String> controlPlane(TestDatabases.Scratch database) throws IOException {
        Map<Setting, String> settings = onDatabase(database);
        settings.put(Setting.CLUSTER_PORT, String.valueOf(freePort()));
        settings.put(Setting.CLUSTER_ROLE, "control");
        settings.put(Setting.CLUSTER_HEARTBEAT_DEADLINE, "3s");
        return settings;
    }

    /** The settings that point a factory at {@code database}. */
    static Map<Setting, String> onDatabase(TestDatabases.Scratch database) {
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.DB_URL, database.config().url());
        if (database.config().user() != null) {
            settings.put(Setting.DB_USER, database.config().user());
        }
        if (database.config().password() != null) {
            settings.put(Setting.DB_PASSWORD, database.config().password());
        }
        return settings;
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return free.getLocalPort();
        }
    }

    /** The worker of {@code home}, joined at {@code controlPlane} with {@code token}, in this JVM and serving. */
    static RunningWorker worker(Path home, String controlPlane, String token, String name) {
        Worker worker = Worker.start(home, URI.create(controlPlane), token, name, "test",
                () -> Json.mapper().valueToTree(INVENTORY), Optional.empty());
        WorkerReplicas replicas = new WorkerReplicas(home.resolve("worker").resolve("cache"), worker.modelSource(),
                (work, file) -> LlamaEngine.loadFromMemory(LlamaRuntime.load(), file, work.model(),
                        LlamaEngineOptions.defaults().withContextPerSequence(work.contextPerSequence())
                                .withParallel(work.parallel()).withThreads(1).withQueueCapacity(work.queue())),
                worker.joined().heartbeatInterval().multipliedBy(3));
        WorkerServer serving = new WorkerServer("127.0.0.1", 0, worker.identity(), worker.clusterCa(), replicas,
                worker::wake).start();
        worker.serve(replicas, serving.port());
        Thread heartbeats = Thread.ofVirtual().name("worker-" + name).start(() -> {
            try {
                worker.run("test", () -> Json.mapper().valueToTree(INVENTORY));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new RunningWorker(worker, replicas, serving, heartbeats, home);
    }

    /**
     * The factory's command line ({@code args} after {@code factory}) in a process of its own, with this JVM's options
     * and {@code factory.*} properties, and {@code env} added to its environment; returns once a line of its output
     * contains {@code ready}, with what it printed up to there, its pipe drained from then on.
     */
    static Started process(List<String> args, Map<String, String> env, String ready) throws IOException {
        return process(List.of(), args, env, ready);
    }

    /** As {@link #process(List, Map, String)}, run by {@code prefix} (such as {@code ip netns exec NAME}). */
    static Started process(List<String> prefix, List<String> args, Map<String, String> env, String ready)
            throws IOException {
        String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(prefix);
        command.add(launcher);
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList());
        System.getProperties().stringPropertyNames().stream().filter(n -> n.startsWith("factory."))
                .forEach(n -> command.add("-D" + n + "=" + System.getProperty(n)));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "ai.factory.cli.FactoryCli"));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        for (String line; (line = out.readLine()) != null; ) {
            seen.add(line);
            if (line.contains(ready)) {
                Thread.ofVirtual().start(() -> out.lines().forEach(seen::add)); // keeps its pipe drained
                return new Started(process, seen);
            }
        }
        throw new AssertionError("factory " + args.getFirst() + " did not start: " + String.join("\n", seen));
    }

    /** A process started by {@link #process}, and what it printed (until it was ready, and on as it prints more). */
    record Started(Process process, List<String> output) {}
}
