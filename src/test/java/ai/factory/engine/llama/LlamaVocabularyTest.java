package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.models.gguf.GgufReader;
import ai.factory.storage.MemoryFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A model's vocabulary loaded alone from the GGUF metadata, the weights never written (a sparse in-memory file, as a
 * control plane loads it): it tokenizes and detokenizes exactly as the whole model's engine does.
 */
class LlamaVocabularyTest {
    private static final List<String> TEXTS = List.of("", "Hello", " Hello, world!", "The quick brown fox\njumps.",
            "naïve café — 日本語 🙂", "<s>[INST] a marked-up turn [/INST]</s>", "   spaces   and\ttabs\t",
            "1234567890 + 0.5e-3 = ?");

    private static LlamaRuntime runtime;
    private static LlamaEngine whole;

    @BeforeAll
    static void loadTheWholeModel() {
        runtime = LlamaTestSupport.runtime();
        whole = LlamaEngine.load(runtime, TestModels.tinyLlama(),
                LlamaEngineOptions.defaults().withContextPerSequence(128).withParallel(1).withThreads(1));
    }

    @AfterAll
    static void close() {
        if (whole != null) {
            whole.close();
        }
    }

    /** The model's file with only its metadata written: the rest of it reads as zeros. */
    private static MemoryFile metadataOnly() throws IOException {
        try (FileChannel file = FileChannel.open(TestModels.tinyLlama(), StandardOpenOption.READ)) {
            long metadata = GgufReader.read(file, file.size()).tensorDataOffset();
            return MemoryFile.prefixOf(file, metadata, "vocabulary-test");
        }
    }

    @Test
    void theMetadataAloneTokenizesAndDetokenizesAsTheWholeModel() throws IOException {
        try (MemoryFile start = metadataOnly(); LlamaVocabulary vocabulary = LlamaVocabulary.load(runtime,
                start.path(), "acme/tiny:1")) {
            assertThat(start.size()).isEqualTo(Files.size(TestModels.tinyLlama()));
            assertThat(vocabulary.size()).isEqualTo(whole.info().vocabularySize());
            for (String text : TEXTS) {
                for (boolean addSpecial : new boolean[] {true, false}) {
                    for (boolean parseSpecial : new boolean[] {true, false}) {
                        int[] tokens = whole.tokenize(text, addSpecial, parseSpecial);
                        assertThat(vocabulary.tokenize(text, addSpecial, parseSpecial))
                                .as("%s (addSpecial %s, parseSpecial %s)", text, addSpecial, parseSpecial)
                                .containsExactly(tokens);
                        assertThat(vocabulary.detokenize(tokens)).isEqualTo(whole.detokenize(tokens));
                    }
                }
            }
            int[] every = new int[whole.info().vocabularySize()];
            Arrays.setAll(every, i -> i);
            assertThat(vocabulary.detokenize(every)).isEqualTo(whole.detokenize(every));
        }
    }

    @Test
    void theWeightsAreNotInTheFileItReads() throws IOException {
        try (MemoryFile start = metadataOnly(); FileChannel read = FileChannel.open(start.path());
                FileChannel original = FileChannel.open(TestModels.tinyLlama())) {
            long metadata = GgufReader.read(original, original.size()).tensorDataOffset();
            ByteBuffer head = ByteBuffer.allocate((int) metadata);
            ByteBuffer expected = ByteBuffer.allocate((int) metadata);
            read.read(head, 0);
            original.read(expected, 0);
            assertThat(head.flip()).isEqualTo(expected.flip());
            ByteBuffer rest = ByteBuffer.allocate((int) (original.size() - metadata));
            read.read(rest, metadata);
            assertThat(rest.flip().array()).as("the weights' bytes").containsOnly((byte) 0);
        }
    }

    @Test
    void aTokenOutsideTheVocabularyIsTheCallersError() throws IOException {
        try (MemoryFile start = metadataOnly(); LlamaVocabulary vocabulary = LlamaVocabulary.load(runtime,
                start.path(), "acme/tiny:1")) {
            for (int[] bad : new int[][] {{-1}, {vocabulary.size()}, {1, 2, Integer.MAX_VALUE}}) {
                assertThatThrownBy(() -> vocabulary.detokenize(bad)).isInstanceOf(FactoryException.class)
                        .satisfies(e -> assertThat(((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                        .hasMessageContaining("outside this model's vocabulary");
            }
            assertThat(vocabulary.tokenize("still serving", false, false)).isNotEmpty();
        }
    }

    @Test
    void aClosedVocabularyRefusesCallsAndClosingTwiceIsHarmless() throws IOException {
        LlamaVocabulary vocabulary;
        try (MemoryFile start = metadataOnly()) {
            vocabulary = LlamaVocabulary.load(runtime, start.path(), "acme/tiny:1");
        }
        assertThat(vocabulary.tokenize("the file is closed, the vocabulary is loaded", false, false)).isNotEmpty();
        vocabulary.close();
        vocabulary.close();
        assertThatThrownBy(() -> vocabulary.tokenize("after", false, false)).isInstanceOf(FactoryException.class)
                .satisfies(e -> assertThat(((FactoryException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE))
                .hasMessageContaining("acme/tiny:1");
    }

    @Test
    void aFileCutInsideItsMetadataIsRefusedWithLlamaCppsReason() throws IOException {
        try (FileChannel file = FileChannel.open(TestModels.tinyLlama(), StandardOpenOption.READ);
                MemoryFile cut = MemoryFile.prefixOf(file, 1000, "vocabulary-test-cut")) {
            // The rest reads as zeros: the vocabulary's strings are cut, and llama.cpp says the file is malformed.
            assertThatThrownBy(() -> LlamaVocabulary.load(runtime, cut.path(), "acme/cut:1"))
                    .isInstanceOf(FactoryException.class)
                    .satisfies(e -> assertThat(((FactoryException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                    .hasMessageContaining("cannot load GGUF model acme/cut:1");
        }
    }
}
