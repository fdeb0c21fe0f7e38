package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.engine.TextModelInfo;
import ai.factory.engine.Vocabulary;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.llama.LlamaRuntime;
import ai.factory.engine.llama.LlamaVocabulary;
import ai.factory.models.ModelFile;
import ai.factory.models.ModelFormat;
import ai.factory.models.ModelName;
import ai.factory.models.ModelVersion;
import ai.factory.models.gguf.GgufReader;
import ai.factory.storage.MemoryFile;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.channels.FileChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The control plane's vocabularies: one loaded per model version and shared by its replicas, unloaded with the last;
 * a replica that has one tokenizes without calling its worker; one that cannot be loaded leaves tokenizing to the
 * workers.
 */
class VocabulariesTest {
    private static ModelVersion version(String name, int v) {
        return new ModelVersion(ModelName.parse(name), v, ModelFormat.GGUF, Map.of(),
                List.of(new ModelFile("m.gguf", "a".repeat(64), 1000)), Instant.EPOCH, "admin", "upload:m.gguf");
    }

    /** A vocabulary that counts how often it was closed (the real one is in {@link #aReplicaWithAVocabularyTokenizesWithoutCallingItsWorker}). */
    private static final class Counted implements Vocabulary {
        final AtomicInteger closed = new AtomicInteger();

        @Override
        public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
            return new int[] {text.length()};
        }

        @Override
        public String detokenize(int[] tokens) {
            return "x".repeat(tokens.length);
        }

        @Override
        public void close() {
            closed.incrementAndGet();
        }
    }

    @Test
    void aVersionsReplicasShareOneVocabularyUnloadedWithTheLast() {
        List<Counted> loaded = new ArrayList<>();
        Vocabularies vocabularies = new Vocabularies(v -> {
            Counted c = new Counted();
            loaded.add(c);
            return c;
        });
        Vocabulary a = vocabularies.acquire(version("acme/m", 1));
        Vocabulary b = vocabularies.acquire(version("acme/m", 1));
        Vocabulary other = vocabularies.acquire(version("acme/m", 2));
        assertThat(loaded).as("one per version").hasSize(2);
        assertThat(vocabularies.loaded()).isEqualTo(2);
        assertThat(a.tokenize("four", false, false)).containsExactly(4);
        a.close();
        a.close(); // a replica's second close lets go of nothing more
        assertThat(loaded.getFirst().closed).hasValue(0);
        assertThat(b.detokenize(new int[] {1, 2})).isEqualTo("xx");
        b.close();
        assertThat(loaded.getFirst().closed).as("unloaded with its last replica").hasValue(1);
        assertThat(vocabularies.loaded()).isEqualTo(1);
        other.close();
        assertThat(vocabularies.loaded()).isZero();
        vocabularies.acquire(version("acme/m", 1)).close();
        assertThat(loaded).as("loaded again when a replica comes back").hasSize(3);
    }

    @Test
    void aVocabularyThatCannotBeLoadedLeavesTokenizingToTheWorkers() {
        Vocabularies vocabularies = new Vocabularies(v -> {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "no llama.cpp natives here");
        });
        assertThat(vocabularies.acquire(version("acme/m", 1))).isNull();
        assertThat(vocabularies.loaded()).isZero();
    }

    @Test
    void aVersionWhoseVocabularyFailedIsNotTriedAgainForEachReplica() {
        AtomicInteger tries = new AtomicInteger();
        Vocabularies vocabularies = new Vocabularies(v -> {
            tries.incrementAndGet();
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "a broken file");
        });
        assertThat(vocabularies.acquire(version("acme/m", 1))).isNull();
        assertThat(vocabularies.acquire(version("acme/m", 1))).isNull();
        assertThat(tries).hasValue(1);
        assertThat(vocabularies.acquire(version("acme/m", 2))).as("another version is tried").isNull();
        assertThat(tries).hasValue(2);
    }

    /**
     * A replica whose worker cannot be reached (its port is closed): with the model's real vocabulary loaded here, and
     * once its worker is known to tokenize as it does, it still tokenizes and detokenizes, so neither calls the
     * worker; generating does, and fails saying so. (The check itself runs against real workers in the cluster
     * tests.)
     */
    @Test
    void aReplicaWithAVocabularyTokenizesWithoutCallingItsWorker() throws IOException {
        LlamaRuntime runtime;
        try {
            runtime = LlamaRuntime.load();
        } catch (FactoryException e) {
            // Under CI the natives must be there (./factory test fetches them); elsewhere their absence skips.
            assertThat(System.getenv("CI")).as("llama.cpp natives: " + e.getMessage()).isNotEqualToIgnoringCase("true");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "llama.cpp natives absent: " + e.getMessage());
            return;
        }
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Node node = new Node("n1", "w1", NodeState.READY, "1", "b".repeat(64), Instant.now().plusSeconds(3600), "t",
                "127.0.0.1", "test", "{}", Instant.now(), Instant.now(), null, closedPort);
        ReplicaWork work = new ReplicaWork("as1", "d1", 0, "acme/tiny:1", "acme", "a".repeat(64), 1000, 256, 1, 1,
                8, 0, "f16", 0, 0, 0, 0, java.util.List.of(), "", -1);
        LlamaVocabulary vocabulary;
        try (FileChannel file = FileChannel.open(TestModels.tinyLlama());
                MemoryFile start = MemoryFile.prefixOf(file, GgufReader.read(file, file.size()).tensorDataOffset(),
                        "test-vocabulary")) {
            vocabulary = LlamaVocabulary.load(runtime, start.path(), "acme/tiny:1");
        }
        AtomicInteger onClose = new AtomicInteger();
        TextModelInfo info = new TextModelInfo(256, 1, vocabulary.size(), null, "<s>", "</s>", true);
        RemoteTextEngine.Target target = new RemoteTextEngine.Target(work, node, () -> { });
        RemoteTextEngine engine = new RemoteTextEngine(target, HttpClient.newHttpClient(), info, vocabulary,
                e -> onClose.incrementAndGet());
        // Its worker cannot be asked whether it tokenizes the same: until then, tokenizing asks the worker.
        assertThatThrownBy(() -> engine.tokenize("Hello world", true, false)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("cannot be reached");
        target.tokenizesHere = true; // as the check finds with a worker that tokenizes the probe the same

        int[] tokens = engine.tokenize("Hello world", true, false);
        assertThat(tokens).isNotEmpty().containsExactly(vocabulary.tokenize("Hello world", true, false));
        assertThat(engine.detokenize(tokens)).isEqualTo("Hello world");
        assertThatThrownBy(() -> engine.detokenize(new int[] {-5})).isInstanceOf(FactoryException.class)
                .satisfies(e -> assertThat(((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST));
        assertThatThrownBy(() -> engine.submit(GenerationRequest.greedy(tokens, 4)))
                .isInstanceOf(FactoryException.class).hasMessageContaining("cannot be reached");
        engine.close();
        assertThat(onClose).hasValue(1);
        assertThatThrownBy(() -> vocabulary.tokenize("after", false, false)).as("closed with the replica")
                .isInstanceOf(FactoryException.class);
    }
}
