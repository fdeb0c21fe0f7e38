package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Named.named;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.engine.llama.KvCacheType;
import ai.factory.fleet.Accelerator;
import ai.factory.fleet.GpuAllocator;
import ai.factory.fleet.NvidiaGpu;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.models.ModelName;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.security.keys.TestKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deployments on a real registry and database, with the tiny GGUF model, on a node of four GPUs as discovery would
 * report them (with a GPU backend switched on, so that every replica holds a GPU). The engine loader is the one fake:
 * it opens {@link FakeEngine}s, or throws what a test tells it to, which no real engine does on demand.
 */
class DeploymentsTest {
    private static final long GIB = 1L << 30;
    private static final Principal ADMIN = new Principal("p-admin", "admin", "default", Role.ADMIN);
    private static final ModelName MODEL = ModelName.parse("acme/tiny");
    /** A model whose attention heads a quantized KV cache can hold. */
    private static final ModelName SMALL = ModelName.parse("acme/small");
    private static final DeploymentSpec TWO_REPLICAS = new DeploymentSpec(2, 1, 256, 1, 4);

    @TempDir
    Path tempDir;

    private Database db;
    private ModelRegistry registry;
    private GpuAllocator allocator;
    private final List<FakeEngine> opened = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    /** Saved before any set-up step can abort (an absent test model skips the test), so tear-down restores it. */
    private final PrintStream stderr = System.err;

    @BeforeEach
    void setUp() {
        Path gguf = TestModels.tinyLlama();
        db = TestDatabases.open(TestDatabases.Kind.H2, tempDir);
        registry = new ModelRegistry(db.jdbi(), new BlobStore(tempDir.resolve("blobs")),
                TestKeys.hierarchy(db.jdbi(), tempDir), Clock.systemUTC(), 1L << 30);
        registry.importPath(MODEL, gguf, Optional.empty(), ADMIN);
        allocator = new GpuAllocator(IntStream.range(0, 4).<Accelerator>mapToObj(i -> new NvidiaGpu(i, "GPU-" + i,
                "NVIDIA H100 80GB HBM3", 80 * GIB, 0, "9.0", "580.65", List.of(), Optional.empty())).toList());
        // The failure log goes to standard error (slf4j-simple); the tests read it there as an operator would.
        System.setErr(new PrintStream(new Tee(stderr, log), true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void tearDown() {
        System.setErr(stderr);
        if (db != null) {
            db.close();
        }
    }

    private Deployments deployments(EngineLoader loader) {
        return new Deployments(db.jdbi(), registry, loader, new MemoryPlanner(() -> Long.MAX_VALUE),
                new GpuPlacements(allocator, () -> true), Clock.systemUTC());
    }

    /** A replica that serves nothing, noted as opened. */
    private final class FakeEngine extends IdleEngine {
        FakeEngine() {
            opened.add(this);
        }
    }

    /** An error of the kind a native load can end in, which no handler of exceptions catches. */
    private static final class NativeLoadError extends Error {
        NativeLoadError(String message) {
            super(message);
        }
    }

    static Stream<Arguments> unexpected() {
        return Stream.of(
                Arguments.of(named("IllegalArgumentException",
                        (Supplier<Throwable>) () -> new IllegalArgumentException("unknown offload option 'split=3'"))),
                Arguments.of(named("OutOfMemoryError",
                        (Supplier<Throwable>) () -> new OutOfMemoryError("cannot reserve 4096 MiB for the KV cache"))),
                Arguments.of(named("an Error of its own",
                        (Supplier<Throwable>) () -> new NativeLoadError("llama_model_load returned null"))));
    }

    @ParameterizedTest
    @MethodSource("unexpected")
    void anythingALoadThrowsFailsTheDeploymentAtOnceLogsItAndGivesBackItsGpusAndEngines(Supplier<Throwable> thrown)
            throws Exception {
        Throwable cause = thrown.get();
        AtomicInteger heldWhileLoading = new AtomicInteger();
        try (Deployments deployments = deployments((replica, version, spec, placement) -> {
            if (opened.isEmpty()) {
                return new FakeEngine();
            }
            heldWhileLoading.set(placement.onGpu() ? allocator.freeGpus() : -1);
            if (cause instanceof Error e) {
                throw e;
            }
            throw (RuntimeException) cause;
        })) {
            Deployment d = deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), TWO_REPLICAS, ADMIN);
            Deployment settled = deployments.awaitSettled(d.id(), Duration.ofMinutes(1));

            assertThat(heldWhileLoading.get()).as("free GPUs while the replicas loaded on theirs").isEqualTo(2);
            assertThat(settled.state()).isInstanceOf(DeploymentState.Failed.class);
            assertThat(settled.reason()).isEqualTo("unexpected " + cause.getClass().getName() + ": "
                    + cause.getMessage());
            assertThat(deployments.get(d.id()).state().id()).isEqualTo("failed");
            assertThat(allocator.freeGpus()).as("free GPUs once it failed").isEqualTo(4);
            assertThat(allocator.allocations()).isEmpty();
            assertThat(deployments.placements(d.id())).isEmpty();
            assertThat(opened).singleElement().satisfies(e -> assertThat(e.closed).hasValue(1));
            await().atMost(Duration.ofMinutes(1)).until(() -> log().contains("deployment " + d.id()
                    + " of acme/tiny:1 failed: " + settled.reason()));
            assertThat(log()).contains(cause.getClass().getName() + ": " + cause.getMessage()).contains("\tat ");
            assertThat(recordedState(d.id())).isEqualTo("failed: " + settled.reason());
        }
    }

    @Test
    void aModelThatCannotBeServedFailsWithItsReasonAndNoStackTrace() throws Exception {
        try (Deployments deployments = deployments((replica, version, spec, placement) -> {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the natives cannot run this architecture");
        })) {
            Deployment d = deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), TWO_REPLICAS, ADMIN);
            Deployment settled = deployments.awaitSettled(d.id(), Duration.ofMinutes(1));
            assertThat(settled.reason()).isEqualTo("the natives cannot run this architecture");
            assertThat(allocator.freeGpus()).isEqualTo(4);
            await().atMost(Duration.ofMinutes(1)).until(() -> log().contains("deployment " + d.id()
                    + " of acme/tiny:1 failed: the natives cannot run this architecture"));
        }
    }

    @Test
    void aReadyDeploymentServesFromItsReplicasAndDeletingItClosesThemAndGivesBackItsGpus() throws Exception {
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            Deployment d = deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), TWO_REPLICAS, ADMIN);
            Deployment settled = deployments.awaitSettled(d.id(), Duration.ofMinutes(1));
            assertThat(settled.state()).isInstanceOfSatisfying(DeploymentState.Ready.class,
                    r -> assertThat(r.replicas()).containsExactlyElementsOf(opened));
            assertThat(recordedState(d.id())).isEqualTo("ready");
            assertThat(deployments.embeds("acme/tiny")).isTrue();
            assertThat(deployments.embeddingEngine("acme/tiny:1")).isIn(opened.toArray());
            assertThat(allocator.freeGpus()).isEqualTo(2);

            deployments.delete(d.id());

            assertThat(opened).allSatisfy(e -> assertThat(e.closed).hasValue(1));
            assertThat(allocator.freeGpus()).isEqualTo(4);
            assertThat(recordedState(d.id())).isNull();
            assertThatThrownBy(() -> deployments.get(d.id())).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
            assertThatThrownBy(() -> deployments.embeds("acme/tiny")).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        }
    }

    @Test
    void aProjectsAcceleratorQuotaCountsWhatItsOtherDeploymentsHoldAndFreesWithThem() throws Exception {
        java.util.concurrent.atomic.AtomicInteger quota = new java.util.concurrent.atomic.AtomicInteger(3);
        try (Deployments deployments = new Deployments(db.jdbi(), registry, (replica, version, spec, placement) ->
                new FakeEngine(), new MemoryPlanner(() -> Long.MAX_VALUE), new GpuPlacements(allocator, () -> true),
                project -> project.equals("default") ? quota.get() : -1, Clock.systemUTC())) {
            ModelRef tiny = new ModelRef(MODEL, OptionalInt.empty());
            Deployment first = deployments.deploy(tiny, TWO_REPLICAS, ADMIN); // one GPU each: the tiny model fits
            assertThat(deployments.placements(first.id())).allSatisfy(p -> assertThat(p.gpus()).hasSize(1));
            // One GPU of the three left: a second deployment's first replica takes it, its second the CPU.
            Deployment second = deployments.deploy(tiny, TWO_REPLICAS, ADMIN);
            assertThat(deployments.placements(second.id())).extracting(p -> p.gpus().size()).containsExactly(1, 0);
            assertThat(allocator.freeGpus()).isEqualTo(1);
            // None left: a layer count is refused at once.
            assertThatThrownBy(() -> deployments.deploy(tiny, new DeploymentSpec(1, 1, 256, 0, 8, 1), ADMIN))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.getMessage())
                            .contains("accelerator quota of project default"));
            // The first deleted: its two GPUs count no longer.
            deployments.awaitSettled(first.id(), Duration.ofMinutes(1));
            deployments.delete(first.id());
            Deployment third = deployments.deploy(tiny, new DeploymentSpec(1, 1, 256, 0, 8, 1), ADMIN);
            assertThat(deployments.placements(third.id())).allSatisfy(p -> assertThat(p.gpus()).hasSize(1));
        }
    }

    @Test
    void aDeploymentDeletedWhileItLoadsIsDrainedByItsLoad() throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch deleted = new CountDownLatch(1);
        try (Deployments deployments = deployments((replica, version, spec, placement) -> {
            loading.countDown();
            try {
                deleted.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return new FakeEngine();
        })) {
            Deployment d = deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), TWO_REPLICAS, ADMIN);
            loading.await();
            assertThat(deployments.get(d.id()).state()).isEqualTo(new DeploymentState.Loading(0, 2));
            assertThatThrownBy(() -> deployments.textReplicas("acme/tiny"))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("is loading");
                    });

            deployments.delete(d.id());
            assertThat(deployments.list()).isEmpty();
            assertThat(allocator.freeGpus()).as("the load still holds its GPUs").isEqualTo(2);
            deleted.countDown();

            await().atMost(Duration.ofMinutes(1)).until(() -> allocator.freeGpus() == 4);
            assertThat(opened).singleElement().satisfies(e -> assertThat(e.closed).hasValue(1));
            assertThat(recordedState(d.id())).isNull();
        }
    }

    @Test
    void restoredDeploymentsArePlacedAgainAndLoad() throws Exception {
        String id;
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            id = deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), TWO_REPLICAS, ADMIN).id();
            deployments.awaitSettled(id, Duration.ofMinutes(1));
        }
        assertThat(allocator.freeGpus()).as("a stopped node holds no GPU").isEqualTo(4);
        try (Deployments restarted = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            restarted.restore();
            assertThat(restarted.awaitSettled(id, Duration.ofMinutes(1)).state().id()).isEqualTo("ready");
            assertThat(restarted.placements(id)).hasSize(2).allMatch(ReplicaPlacement::onGpu);
            assertThat(allocator.freeGpus()).isEqualTo(2);
        }
    }

    @Test
    void restoredDeploymentsKeepTheirStepTokensCacheTypeAndPrefixCache() throws Exception {
        registry.importPath(SMALL, TestModels.smallLlama(tempDir), Optional.empty(), ADMIN);
        DeploymentSpec tuned = new DeploymentSpec(1, 2, 256, 1, 4, DeploymentSpec.GPU_LAYERS_AUTO, 32,
                KvCacheType.Q8_0, 3);
        String id;
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            id = deployments.deploy(new ModelRef(SMALL, OptionalInt.empty()), tuned, ADMIN).id();
            deployments.awaitSettled(id, Duration.ofMinutes(1));
        }
        List<DeploymentSpec> loaded = new CopyOnWriteArrayList<>();
        try (Deployments restarted = deployments((replica, version, spec, placement) -> {
            loaded.add(spec);
            return new FakeEngine();
        })) {
            restarted.restore();
            assertThat(restarted.awaitSettled(id, Duration.ofMinutes(1)).spec()).isEqualTo(tuned);
            assertThat(loaded).containsExactly(tuned);
        }
    }

    @Test
    void aQuantizedCacheTakesLessOfEachGpu() throws Exception {
        registry.importPath(SMALL, TestModels.smallLlama(tempDir), Optional.empty(), ADMIN);
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            long f16 = bytesPerGpu(deployments, KvCacheType.F16);
            long q8 = bytesPerGpu(deployments, KvCacheType.Q8_0);
            long q4 = bytesPerGpu(deployments, KvCacheType.Q4_0);

            assertThat(q8).isLessThan(f16);
            assertThat(q4).isLessThan(q8);
            // The weights and compute buffer stay; the KV cache shrinks to 17/32 (q8_0) and 9/32 (q4_0) of f16's.
            assertThat((f16 - q8) * 23).isEqualTo((f16 - q4) * 15);
        }
    }

    @Test
    void aQuantizedCacheIsRefusedForHeadsThatAreNotWholeBlocksHoldingNothing() {
        DeploymentSpec q4 = new DeploymentSpec(1, 1, 256, 1, 4, DeploymentSpec.GPU_LAYERS_AUTO,
                DeploymentSpec.STEP_TOKENS_AUTO, KvCacheType.Q4_0);
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            assertThatThrownBy(() -> deployments.deploy(new ModelRef(MODEL, OptionalInt.empty()), q4, ADMIN))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.getMessage()).isEqualTo("'cacheType' q4_0 stores attention heads in blocks of 32 "
                                + "elements, but acme/tiny:1 has heads of 4 (keys) and 4 (values) elements; use f16");
                    });
            assertThat(deployments.list()).isEmpty();
            assertThat(allocator.freeGpus()).isEqualTo(4);
            assertThat(opened).isEmpty();
        }
    }

    @Test
    void aPrefixCacheTakesASlotsKvMemoryOfEachGpuPerSequence() throws Exception {
        registry.importPath(SMALL, TestModels.smallLlama(tempDir), Optional.empty(), ADMIN);
        try (Deployments deployments = deployments((replica, version, spec, placement) -> new FakeEngine())) {
            long slots = bytesPerGpu(deployments, 4, 0);
            long cached = bytesPerGpu(deployments, 4, 4);

            assertThat(cached).isGreaterThan(slots);
            // The compute buffer is one micro-batch's either way: 4 cached sequences weigh as 4 more slots.
            assertThat(cached).isEqualTo(bytesPerGpu(deployments, 8, 0));
        }
    }

    /** What one replica of the small model, all on a GPU with 4 sequences of 256 tokens, holds of its GPU. */
    private static long bytesPerGpu(Deployments deployments, KvCacheType cacheType) throws InterruptedException {
        return bytesPerGpu(deployments, new DeploymentSpec(1, 4, 256, 1, 4, DeploymentSpec.GPU_LAYERS_AUTO,
                DeploymentSpec.STEP_TOKENS_AUTO, cacheType));
    }

    /** What one replica of the small model, all on a GPU with sequences of 256 tokens, holds of its GPU. */
    private static long bytesPerGpu(Deployments deployments, int parallel, int prefixCache)
            throws InterruptedException {
        return bytesPerGpu(deployments, new DeploymentSpec(1, parallel, 256, 1, 4, DeploymentSpec.GPU_LAYERS_AUTO,
                DeploymentSpec.STEP_TOKENS_AUTO, KvCacheType.F16, prefixCache));
    }

    private static long bytesPerGpu(Deployments deployments, DeploymentSpec spec) throws InterruptedException {
        Deployment d = deployments.deploy(new ModelRef(SMALL, OptionalInt.empty()), spec, ADMIN);
        deployments.awaitSettled(d.id(), Duration.ofMinutes(1));
        ReplicaPlacement placement = deployments.placements(d.id()).getFirst();
        assertThat(placement.onGpu()).isTrue();
        deployments.delete(d.id());
        return placement.bytesPerGpu();
    }

    private String recordedState(String id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT state, reason FROM deployments WHERE id = :id")
                .bind("id", id).map((rs, ctx) -> rs.getString(1) + (rs.getString(2) == null ? "" : ": "
                        + rs.getString(2))).findOne().orElse(null));
    }

    private String log() {
        return log.toString(StandardCharsets.UTF_8);
    }

    /** Writes to the real standard error and to the captured log at once. */
    private static final class Tee extends OutputStream {
        private final PrintStream real;
        private final ByteArrayOutputStream copy;

        Tee(PrintStream real, ByteArrayOutputStream copy) {
            this.real = real;
            this.copy = copy;
        }

        @Override
        public synchronized void write(int c) {
            real.write(c);
            copy.write(c);
        }

        @Override
        public synchronized void write(byte[] bytes, int off, int len) {
            real.write(bytes, off, len);
            copy.write(bytes, off, len);
        }
    }
}
