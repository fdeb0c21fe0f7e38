package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.storage.BlobStore;
import ai.factory.storage.DataKey;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose models come from the control plane's blob folder mounted on it, or mirrored to an S3 bucket: the real
 * blob store on both sides and the real llama.cpp engine. The control plane's own side is here a model source over its
 * blob store that counts the blobs it streams and releases the keys; over HTTP and mutual TLS it is
 * {@code ClusterServingTest}'s. The bucket is S3Proxy's (the S3 API over a folder, in a process of its own, from the
 * build's {@code target/test-tools/}): no S3 service can be reached from here, and MinIO does not install from the
 * registries this build uses; a mirror's objects are written into its folder as a sync tool would upload them.
 */
@ai.factory.ServerTest
class SharedBlobSourceTest {
    private static final String OWNER = "default";

    @TempDir
    Path dir;

    /** The control plane's store, and the blobs and keys it gives out. */
    private final class ControlPlane implements WorkerReplicas.ModelSource {
        final BlobStore store = new BlobStore(dir.resolve("control").resolve("blobs"));
        final AtomicInteger streamed = new AtomicInteger();
        final java.util.Map<String, DataKey> keys = new java.util.concurrent.ConcurrentHashMap<>();

        BlobStore.StoredBlob put(Path file) throws IOException {
            try (InputStream in = Files.newInputStream(file)) {
                BlobStore.StoredBlob stored = store.put(OWNER, in);
                keys.put(stored.ref().sha256(), stored.key());
                return stored;
            }
        }

        @Override
        public void fetchBlob(ReplicaWork work, Path target) throws IOException {
            streamed.incrementAndGet();
            Files.copy(store.path(work.owner(), work.sha256()), target,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }

        @Override
        public DataKey fetchKey(ReplicaWork work) {
            return keys.get(work.sha256());
        }
    }

    private static ReplicaWork work(String assignment, BlobStore.StoredBlob blob, long bytes) {
        return new ReplicaWork(assignment, "dep-" + assignment, 0, "acme/tiny:1", OWNER, blob.ref().sha256(), bytes,
                256, 1, 1, 8, 0, "f16", 0, 0, 0, 0, java.util.List.of(), "", -1);
    }

    /** Where worker {@code name}'s cache keeps {@code blob}. */
    private Path cached(String name, BlobStore.StoredBlob blob) {
        return BlobStore.pathIn(dir.resolve(name).resolve("cache"), OWNER, blob.ref().sha256());
    }

    private static WorkerReplicas worker(Path home, WorkerReplicas.ModelSource source) {
        return new WorkerReplicas(home.resolve("cache"), source, (work, file) -> LlamaEngine.loadFromMemory(
                LlamaRuntime.load(), file, work.model(), LlamaEngineOptions.defaults()
                        .withContextPerSequence(work.contextPerSequence()).withParallel(1).withThreads(1)));
    }

    private static Assignments.Reported awaitReport(WorkerReplicas worker, String assignment) {
        return await().atMost(Duration.ofSeconds(60)).until(() -> worker.reports().stream()
                .filter(r -> r.assignment().equals(assignment) && r.phase() != Assignments.Phase.LOADING)
                .findFirst().orElse(null), r -> r != null);
    }

    @Test
    void aModelOnTheSharedFolderIsCopiedFromThereCheckedAndServed() throws Exception {
        ControlPlane control = new ControlPlane();
        Path model = TestModels.tinyLlama();
        BlobStore.StoredBlob blob = control.put(model);
        try (WorkerReplicas worker = worker(dir.resolve("w1"),
                new SharedBlobSource(control.store.root(), control))) {
            worker.reconcile(List.of(work("a1", blob, Files.size(model))));
            Assignments.Reported ready = awaitReport(worker, "a1");
            assertThat(ready.phase()).as(ready.detail()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).as("no blob streamed through the control plane").hasValue(0);
            assertThat(Files.readAllBytes(cached("w1", blob)))
                    .as("the worker's cache holds the ciphertext, as on the shared folder")
                    .isEqualTo(Files.readAllBytes(control.store.path(OWNER, blob.ref().sha256())));
            TextEngine engine = worker.engine("a1");
            TokenEvent last = null;
            var generation = engine.submit(GenerationRequest.greedy(engine.tokenize("Hello", true, false), 4));
            while (!((last = generation.next(Duration.ofSeconds(30))) instanceof TokenEvent.Done)) {
                assertThat(last).isNotNull();
            }
            assertThat(((TokenEvent.Done) last).reason()).isIn(TokenEvent.FinishReason.LENGTH,
                    TokenEvent.FinishReason.STOP);
        }
    }

    @Test
    void anAlteredBlobOnTheSharedFolderIsRefusedAndTheControlPlanesFetchedInstead() throws Exception {
        ControlPlane control = new ControlPlane();
        Path model = TestModels.tinyLlama();
        BlobStore.StoredBlob blob = control.put(model);
        // The shared folder is another copy of the control plane's (as a mount of it would be), with the blob altered.
        Path shared = dir.resolve("shared");
        Path altered = BlobStore.pathIn(shared, OWNER, blob.ref().sha256());
        Files.createDirectories(altered.getParent());
        Files.copy(control.store.path(OWNER, blob.ref().sha256()), altered);
        try (var channel = java.nio.channels.FileChannel.open(altered, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), Files.size(altered) / 2);
        }
        try (WorkerReplicas worker = worker(dir.resolve("w2"), new SharedBlobSource(shared, control))) {
            worker.reconcile(List.of(work("a2", blob, Files.size(model))));
            Assignments.Reported ready = awaitReport(worker, "a2");
            assertThat(ready.phase()).as(ready.detail()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).as("the altered copy refused, the control plane's fetched").hasValue(1);
            assertThat(Files.readAllBytes(cached("w2", blob)))
                    .isEqualTo(Files.readAllBytes(control.store.path(OWNER, blob.ref().sha256())));
        }
        // Not on the shared folder at all: the control plane streams it.
        Files.delete(altered);
        try (WorkerReplicas worker = worker(dir.resolve("w3"), new SharedBlobSource(shared, control))) {
            worker.reconcile(List.of(work("a3", blob, Files.size(model))));
            assertThat(awaitReport(worker, "a3").phase()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).hasValue(2);
        }
        // Bad everywhere (the control plane's own blob altered too): the replica fails, saying why, and nothing stays.
        try (var channel = java.nio.channels.FileChannel.open(control.store.path(OWNER, blob.ref().sha256()),
                StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(new byte[] {9, 9, 9, 9}), 4096);
        }
        Files.createDirectories(altered.getParent());
        Files.copy(control.store.path(OWNER, blob.ref().sha256()), altered);
        try (WorkerReplicas worker = worker(dir.resolve("w4"), new SharedBlobSource(shared, control))) {
            worker.reconcile(List.of(work("a4", blob, Files.size(model))));
            Assignments.Reported failed = awaitReport(worker, "a4");
            assertThat(failed.phase()).isEqualTo(Assignments.Phase.FAILED);
            assertThat(failed.detail()).contains("did not verify on this worker", "deleted from the cache");
            assertThat(control.streamed).as("fetched once more from the control plane").hasValue(3);
            assertThat(Files.exists(cached("w4", blob))).isFalse();
        }
    }

    private static final String S3_ID = "factory-worker";
    private static final String S3_SECRET = "worker-secret-key";

    /** S3Proxy on a free loopback port, serving the buckets under {@code root}; its endpoint URL. */
    private static Process s3;
    private static URI s3Endpoint;

    @TempDir
    static Path s3Root;

    @BeforeAll
    static void startS3() throws Exception {
        Path jar = Path.of("target", "test-tools", "s3proxy.jar").toAbsolutePath();
        assertThat(jar).as("the build copies S3Proxy there (mvn process-test-resources)").exists();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        s3Endpoint = URI.create("http://127.0.0.1:" + port);
        Path properties = s3Root.resolve("s3proxy.properties");
        Files.writeString(properties, String.join("\n", "s3proxy.endpoint=" + s3Endpoint,
                "s3proxy.authorization=aws-v2-or-v4", "s3proxy.identity=" + S3_ID, "s3proxy.credential=" + S3_SECRET,
                "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + s3Root.resolve("data")));
        Files.createDirectories(s3Root.resolve("data").resolve("models"));
        s3 = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar.toString(), "--properties", properties.toString()).redirectErrorStream(true)
                .redirectOutput(s3Root.resolve("s3proxy.log").toFile()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    @AfterAll
    static void stopS3() {
        if (s3 != null) {
            s3.destroyForcibly();
        }
    }

    private static S3BlobMirror bucket(String location, String secret) {
        return S3BlobMirror.fromEnvironment(location, Map.of("AWS_ACCESS_KEY_ID", S3_ID, "AWS_SECRET_ACCESS_KEY",
                secret, "AWS_ENDPOINT_URL_S3", s3Endpoint.toString(), "AWS_REGION", "eu-central-1"));
    }

    @Test
    void aModelMirroredToAnS3BucketIsCopiedFromThereCheckedAndServed() throws Exception {
        ControlPlane control = new ControlPlane();
        Path model = TestModels.tinyLlama();
        BlobStore.StoredBlob blob = control.put(model);
        // Mirrored under a prefix, as `aws s3 sync blobs/ s3://models/site-a/blobs` lays it out.
        Path object = BlobStore.pathIn(s3Root.resolve("data").resolve("models").resolve("site-a").resolve("blobs"),
                OWNER, blob.ref().sha256());
        Files.createDirectories(object.getParent());
        Files.copy(control.store.path(OWNER, blob.ref().sha256()), object);
        S3BlobMirror mirror = bucket("s3://models/site-a/blobs/", S3_SECRET).check();
        try (WorkerReplicas worker = worker(dir.resolve("s1"), new SharedBlobSource(mirror, control))) {
            worker.reconcile(List.of(work("s1", blob, Files.size(model))));
            Assignments.Reported ready = awaitReport(worker, "s1");
            assertThat(ready.phase()).as(ready.detail()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).as("no blob streamed through the control plane").hasValue(0);
            assertThat(Files.readAllBytes(cached("s1", blob))).isEqualTo(Files.readAllBytes(object));
        }
        // Not in the bucket (not synced yet): the control plane streams it.
        Files.delete(object);
        try (WorkerReplicas worker = worker(dir.resolve("s2"), new SharedBlobSource(mirror, control))) {
            worker.reconcile(List.of(work("s2", blob, Files.size(model))));
            assertThat(awaitReport(worker, "s2").phase()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).hasValue(1);
        }
    }

    @Test
    void aBucketThatCannotBeReadIsRefusedBeforeTheWorkerJoinsSayingWhy() {
        assertThatThrownBy(() -> bucket("s3://models", "not-the-secret").check())
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains("cannot list s3://models", "answered 403");
                });
        assertThatThrownBy(() -> bucket("s3://no-such-bucket/blobs", S3_SECRET).check())
                .isInstanceOf(FactoryException.class).hasMessageContaining("NoSuchBucket");
        assertThatThrownBy(() -> S3BlobMirror.fromEnvironment("s3://models", Map.of("AWS_REGION", "eu-central-1")))
                .isInstanceOf(FactoryException.class).hasMessageContaining("needs AWS_ACCESS_KEY_ID and "
                        + "AWS_SECRET_ACCESS_KEY");
        for (String bad : List.of("s3://", "s3://UPPER/blobs", "s3://a", "s3://models/../site", "https://models")) {
            assertThatThrownBy(() -> bucket(bad, S3_SECRET)).as(bad).isInstanceOfSatisfying(FactoryException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
        }
        assertThatThrownBy(() -> S3BlobMirror.fromEnvironment("s3://models", Map.of("AWS_ACCESS_KEY_ID", S3_ID,
                "AWS_SECRET_ACCESS_KEY", S3_SECRET, "AWS_ENDPOINT_URL_S3", "ftp://store")))
                .isInstanceOf(FactoryException.class).hasMessageContaining("not an http(s) URL");
    }

    @Test
    void aFolderThatIsNotABlobFolderIsRefusedNamingIt() throws IOException {
        Path notBlobs = Files.createDirectories(dir.resolve("site"));
        assertThatThrownBy(() -> SharedBlobSource.requireBlobFolder(notBlobs))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains(notBlobs.toString(), "not a factory's blob folder",
                            "blobs/");
                });
        assertThatThrownBy(() -> SharedBlobSource.requireBlobFolder(dir.resolve("absent")))
                .isInstanceOf(FactoryException.class);
    }
}
