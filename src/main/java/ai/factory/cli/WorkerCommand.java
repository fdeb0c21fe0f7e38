package ai.factory.cli;

import ai.factory.BuildInfo;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.WorkerServer;
import ai.factory.cluster.ReplicaWork;
import ai.factory.cluster.S3BlobMirror;
import ai.factory.cluster.SharedBlobSource;
import ai.factory.cluster.WorkerReplicas;
import ai.factory.engine.TextEngine;
import ai.factory.engine.llama.GpuOffload;
import ai.factory.engine.llama.KvCacheType;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;

import ai.factory.Json;
import ai.factory.cluster.Worker;
import ai.factory.config.ConfigLoader;
import ai.factory.fleet.Accelerator;
import ai.factory.fleet.Discovery;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.NodeInventory;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.fleet.capacity.CapacityEstimator;
import ai.factory.models.gguf.GgufReader;
import ai.factory.security.tls.SiteTrust;
import ai.factory.serving.GpuPlacements;
import ai.factory.serving.ReplicaPlacement;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code factory worker}: joins this machine to a factory's control plane as a node, then reports to it over mutual
 * TLS until SIGTERM or Ctrl-C.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Join this machine to a factory as a worker node and report to its control plane.")
final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--join", required = true, paramLabel = "URL",
            description = "The control plane's API URL, e.g. https://factory.example:8080.")
    String url;

    @Option(names = "--token", description = "A join token (factory nodes token create); only needed the first time.")
    @Nullable String token;

    @Option(names = "--name", description = "The node's name (default: this machine's host name).")
    @Nullable String name;

    @Option(names = "--home", description = "Where the worker keeps its key and certificate (default: $FACTORY_HOME "
            + "or ~/.factory).")
    @Nullable Path home;

    @Option(names = "--serve-host", paramLabel = "ADDRESS", description = "The address the replicas' serving port "
            + "binds (default: all). The control plane dials the address this worker joined from.")
    String serveHost = "0.0.0.0";

    @Option(names = "--serve-port", paramLabel = "PORT", description = "The replicas' serving port (mutual TLS, the "
            + "control plane's certificate only; default 0: a free one, reported to the control plane).")
    int servePort;

    @Option(names = "--threads", description = "CPU threads per replica when its deployment names none (default: "
            + "this machine's physical cores).")
    int threads;

    @Option(names = "--shared-blobs", paramLabel = "DIR|s3://BUCKET[/PREFIX]", description = "The control plane's "
            + "blob folder (its blobs/, never the site folder around it) as mounted on this machine from a shared "
            + "file system (read-only is enough), or an S3 bucket it is mirrored to (aws s3 sync, rclone; read with "
            + "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and, for a store of the site's own, "
            + "AWS_ENDPOINT_URL_S3): models are copied from there, still encrypted, instead of through the control "
            + "plane, and checked as fetched ones are.")
    @Nullable String sharedBlobs;

    @Option(names = "--ca-cert", paramLabel = "FILE", description = "CA certificate (PEM) to trust for an https "
            + "control plane, beside the JDK's (the site CA's ca.pem).")
    @Nullable Path caCert;

    @Override
    public Integer call() throws InterruptedException {
        Path dir = ConfigLoader.fromSystem().home(home);
        // Checked before joining, so that a wrong folder, bucket or key costs no join token.
        SharedBlobSource.Mirror mirror = sharedBlobs == null ? null
                : S3BlobMirror.isBucket(sharedBlobs) ? bucket(sharedBlobs, dir)
                : SharedBlobSource.folder(SharedBlobSource.requireBlobFolder(Path.of(sharedBlobs)));
        String version = BuildInfo.load().version().orElse("dev");
        Discovery discovery = Discovery.forThisMachine(Clock.systemUTC());
        // The worker gives its replicas GPUs itself, as an all-in-one factory does: the control plane chose the node.
        GpuPlacements gpus = new GpuPlacements(new GpuAllocator(discovery.inventory().accelerators()),
                WorkerCommand::gpuBackend);
        AtomicReference<WorkerReplicas> started = new AtomicReference<>(); // its replicas, once it serves
        // Counted down once the replicas and the serving port are closed: the shutdown hook waits for it.
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        Worker worker = Worker.start(dir, URI.create(url), token, name == null ? hostName() : name, version,
                () -> inventory(discovery.inventory(), gpus, started.get()),
                caCert == null ? Optional.empty() : Optional.of(SiteTrust.context(List.of(caCert))));
        int defaultThreads = threads > 0 ? threads : Math.max(1, discovery.inventory().cpu().cores());
        WorkerReplicas.ModelSource models = mirror == null ? worker.modelSource()
                : new SharedBlobSource(mirror, worker.modelSource());
        try (WorkerReplicas replicas = new WorkerReplicas(dir.resolve("worker").resolve("cache"), models,
                new WorkerReplicas.Loader() {
                    @Override
                    public TextEngine load(ReplicaWork work, Path file) {
                        return WorkerCommand.load(work, file, defaultThreads, gpus,
                                discovery.inventory().memoryAvailableBytes());
                    }

                    @Override
                    public void unloaded(ReplicaWork work) {
                        gpus.allocator().release(work.assignment());
                    }

                    @Override
                    public int gpusHeld(ReplicaWork work) {
                        return gpus.allocator().heldBy(work.assignment());
                    }
                }, worker.joined().heartbeatInterval().multipliedBy(3));
                WorkerServer serving = new WorkerServer(serveHost, servePort, worker.identity(), worker.clusterCa(),
                        replicas, worker::wake).start()) {
            started.set(replicas);
            worker.serve(replicas, serving.port());
            System.out.println("Worker " + worker.joined().nodeId() + " (" + worker.joined().name() + ") reports to "
                    + worker.joined().clusterUrl() + " every " + worker.joined().heartbeatInterval().toMillis()
                    + " ms and serves replicas on port " + serving.port());
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                leave(worker, replicas);
                main.interrupt();
                try {
                    stopped.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "worker-shutdown"));
            try {
                worker.run(version, () -> inventory(discovery.inventory(), gpus, replicas));
            } catch (InterruptedException e) {
                System.err.println("factory: worker stopping");
            } catch (FactoryException e) {
                if (e.code() == ErrorCode.FORBIDDEN) {
                    replicas.forgetAll();
                    System.err.println("factory: this node was removed from the cluster; its cached models were "
                            + "deleted");
                }
                throw e;
            }
        } finally {
            stopped.countDown();
        }
        return 0;
    }

    /**
     * The bucket at {@code location}, checked: refused before the first join; a worker that joined before (restarting
     * while the store is down, say) goes on, its models coming from the control plane until the bucket answers.
     */
    private static S3BlobMirror bucket(String location, Path home) throws InterruptedException {
        S3BlobMirror bucket = S3BlobMirror.fromEnvironment(location, System.getenv());
        try {
            return bucket.check();
        } catch (FactoryException e) {
            if (!Worker.joinedBefore(home)) {
                throw e;
            }
            System.err.println("factory: " + e.getMessage() + "; models come from the control plane meanwhile");
            return bucket;
        }
    }

    /** How long a stopping worker waits for the control plane to move its replicas elsewhere. */
    private static final java.time.Duration LEAVE_LIMIT = java.time.Duration.ofSeconds(90);

    /**
     * A stopping worker (SIGTERM: an upgrade, a reboot) first tells the control plane, which moves its replicas to
     * other workers while this one goes on serving the calls it has; it stops once it runs none (or after
     * {@link #LEAVE_LIMIT}, or at once when no other worker could take them). Started again, it takes work by itself.
     */
    private static void leave(Worker worker, WorkerReplicas replicas) {
        try {
            long others = worker.leave();
            if (others == 0 || replicas.isEmpty()) {
                System.err.println("factory: worker stopping" + (replicas.isEmpty() ? ""
                        : " (no other worker can take its replicas; their calls end)"));
                return;
            }
            System.err.println("factory: worker stopping once the control plane has moved its replicas to the "
                    + others + " other worker(s)");
            long end = System.nanoTime() + LEAVE_LIMIT.toNanos();
            while (!replicas.isEmpty() && System.nanoTime() < end) {
                Thread.sleep(200);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("factory: could not tell the control plane this worker stops (" + e.getMessage()
                    + "); its replicas move once it misses the heartbeat deadline");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A replica's engine, from its decrypted model file, with the settings its deployment asked for: on this worker's
     * free GPUs as its {@code gpuLayers} asks (held under the assignment's id until it is unloaded), else on the CPU.
     */
    static TextEngine load(ReplicaWork work, Path modelFile, int defaultThreads, GpuPlacements gpus, long hostFree) {
        KvCacheType cache = KvCacheType.parse(work.cacheType());
        ReplicaPlacement where = gpus.placeGguf(work.assignment(), work.model(), work.gpuLayers(), work.maxGpus(), () -> {
            try {
                return CapacityEstimator.footprint(GgufReader.read(modelFile), CapacityEstimator.Request.of(
                        work.contextPerSequence(), work.parallel() + work.prefixCache(), CacheType.valueOf(cache.name())));
            } catch (IOException e) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot read " + work.model() + ": "
                        + e.getMessage(), e);
            }
        }, hostFree);
        try {
            return load(work, modelFile, defaultThreads, where.onGpu()
                    ? GpuOffload.onDevices(where.gpuLayers(), where.gpus(), where.layersPerGpu()) : GpuOffload.CPU);
        } catch (RuntimeException | Error e) {
            gpus.allocator().release(work.assignment());
            throw e;
        }
    }

    /** Whether this worker's llama.cpp natives can offload to a GPU they found. */
    private static boolean gpuBackend() {
        try {
            return LlamaRuntime.load().gpuOffload();
        } catch (FactoryException e) {
            return false;
        }
    }

    /** A replica's engine, from its decrypted model file, on the CPU or {@code gpu}. */
    static TextEngine load(ReplicaWork work, Path modelFile, int defaultThreads, GpuOffload gpu) {
        return LlamaEngine.loadFromMemory(LlamaRuntime.load(), modelFile, work.model(), LlamaEngineOptions.defaults()
                .withContextPerSequence(work.contextPerSequence())
                .withParallel(work.parallel())
                .withThreads(work.threads() > 0 ? work.threads() : defaultThreads)
                .withQueueCapacity(work.queue())
                .withStepTokens(work.stepTokens())
                .withCacheType(KvCacheType.parse(work.cacheType()))
                .withPrefixCache(work.prefixCache())
                .withGpu(gpu));
    }

    /**
     * What the control plane is told of this machine: CPUs, memory and accelerators, and of its GPUs how many no
     * replica holds now ({@code gpusFree}; 0 when its natives cannot offload), which the control plane places by.
     */
    static JsonNode inventory(NodeInventory n, GpuPlacements gpus, @Nullable WorkerReplicas replicas) {
        ObjectNode out = Json.mapper().createObjectNode().put("name", n.nodeName());
        out.putObject("cpu").put("model", n.cpu().model()).put("sockets", n.cpu().sockets())
                .put("cores", n.cpu().cores()).put("threads", n.cpu().threads());
        out.putObject("memory").put("total", n.memoryTotalBytes()).put("available", n.memoryAvailableBytes());
        ArrayNode accelerators = out.putArray("accelerators");
        for (Accelerator a : n.accelerators()) {
            accelerators.addObject().put("kind", a.kind().id()).put("index", a.index()).put("name", a.name())
                    .put("memoryTotal", a.memoryTotalBytes());
        }
        int loading = replicas == null ? 0 : replicas.loadingOnGpus();
        out.put("gpusFree", gpuBackend() ? Math.max(0, gpus.allocator().freeGpus() - loading) : 0);
        return out;
    }

    /** This machine's host name as a DNS label, or {@code worker}. */
    private static String hostName() {
        try {
            String host = InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT).split("\\.", 2)[0]
                    .replaceAll("[^a-z0-9-]", "-");
            return host.isEmpty() || host.startsWith("-") || host.endsWith("-") ? "worker" : host;
        } catch (java.net.UnknownHostException e) {
            return "worker";
        }
    }
}
