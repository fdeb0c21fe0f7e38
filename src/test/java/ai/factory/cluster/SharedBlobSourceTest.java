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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose models come from the control plane's blob folder mounted on it: the real blob store on both sides
 * and the real llama.cpp engine. The control plane's own side is here a model source over its blob store that
 * counts the blobs it streams and releases the keys; over HTTP and mutual TLS it is {@code ClusterServingTest}'s.
 */
class SharedBlobSourceTest {
    private static final String OWNER = "default";

    @TempDir
    Path dir;

    /** The control plane's store, and the blobs and keys it gives out. */
    static final class ControlPlane implements WorkerReplicas.ModelSource {
        final BlobStore store;
        ControlPlane(Path dir) {
            store = new BlobStore(dir.resolve("control").resolve("blobs"));
        }

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

    static ReplicaWork work(String assignment, BlobStore.StoredBlob blob, long bytes) {
        return new ReplicaWork(assignment, "dep-" + assignment, 0, "acme/tiny:1", OWNER, blob.ref().sha256(), bytes,
                256, 1, 1, 8, 0, "f16", 0, 0, 0, 0, java.util.List.of(), "", -1);
    }

    /** Where worker {@code name}'s cache keeps {@code blob}. */
    static Path cached(Path dir, String name, BlobStore.StoredBlob blob) {
        return BlobStore.pathIn(dir.resolve(name).resolve("cache"), OWNER, blob.ref().sha256());
    }

    static WorkerReplicas worker(Path home, WorkerReplicas.ModelSource source) {
        return new WorkerReplicas(home.resolve("cache"), source, (work, file) -> LlamaEngine.loadFromMemory(
                LlamaRuntime.load(), file, work.model(), LlamaEngineOptions.defaults()
                        .withContextPerSequence(work.contextPerSequence()).withParallel(1).withThreads(1)));
    }

    static Assignments.Reported awaitReport(WorkerReplicas worker, String assignment) {
        return await().atMost(Duration.ofSeconds(60)).until(() -> worker.reports().stream()
                .filter(r -> r.assignment().equals(assignment) && r.phase() != Assignments.Phase.LOADING)
                .findFirst().orElse(null), r -> r != null);
    }

    @Test
    void aModelOnTheSharedFolderIsCopiedFromThereCheckedAndServed() throws Exception {
        ControlPlane control = new ControlPlane(dir);
        Path model = TestModels.tinyLlama();
        BlobStore.StoredBlob blob = control.put(model);
        try (WorkerReplicas worker = worker(dir.resolve("w1"),
                new SharedBlobSource(control.store.root(), control))) {
            worker.reconcile(List.of(work("a1", blob, Files.size(model))));
            Assignments.Reported ready = awaitReport(worker, "a1");
            assertThat(ready.phase()).as(ready.detail()).isEqualTo(Assignments.Phase.READY);
            assertThat(control.streamed).as("no blob streamed through the control plane").hasValue(0);
            assertThat(Files.readAllBytes(cached(dir, "w1", blob)))
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
        ControlPlane control = new ControlPlane(dir);
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
            assertThat(Files.readAllBytes(cached(dir, "w2", blob)))
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
            assertThat(Files.exists(cached(dir, "w4", blob))).isFalse();
        }
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
