package ai.factory.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Embeddings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real bundled all-MiniLM-L6-v2 (quantized). */
class OnnxEmbeddingEngineTest {
    private static final String GUITAR = "A man is playing a guitar.";
    private static final String STRUMMING = "Someone is strumming a guitar.";
    private static final String STOCKS = "The stock market fell sharply today.";

    @TempDir
    static Path modelDir;

    @TempDir
    static Path nativeCache;

    private static OnnxEmbeddingEngine engine;

    @BeforeAll
    static void openBundledModel() throws IOException {
        BundledMiniLm.extractTo(modelDir);
        engine = open(options());
    }

    @AfterAll
    static void closeModel() {
        engine.close();
    }

    @Test
    void returnsOneUnitVectorOf384DimensionsPerInput() {
        Embeddings embeddings = engine.embed(List.of(GUITAR, STOCKS, "x"));

        assertThat(engine.dimensions()).isEqualTo(384);
        assertThat(embeddings.vectors()).hasSize(3);
        for (float[] vector : embeddings.vectors()) {
            assertThat(vector).hasSize(384);
            assertThat(norm(vector)).isCloseTo(1.0, within(1e-4));
        }
    }

    @Test
    void placesParaphrasesCloserThanUnrelatedSentences() {
        List<float[]> vectors = engine.embed(List.of(GUITAR, STRUMMING, STOCKS)).vectors();

        double paraphrase = cosine(vectors.get(0), vectors.get(1));
        double unrelated = cosine(vectors.get(0), vectors.get(2));

        assertThat(paraphrase).isGreaterThan(unrelated + 0.3);
    }

    @Test
    void matchesSentenceTransformersOnItsReferenceSentence() {
        // sentence-transformers/all-MiniLM-L6-v2 (float32) gives "hello world" these first five
        // dimensions; int8 quantization moves single dimensions of the bundled model by up to
        // about 0.011. Pooling the [CLS] token alone, or skipping normalisation, lands far off.
        float[] reference = {-0.034478f, 0.03102f, 0.00673f, 0.02611f, -0.039362f};

        float[] vector = engine.embed(List.of("hello world")).vectors().getFirst();

        for (int d = 0; d < reference.length; d++) {
            assertThat(vector[d]).as("dimension %d", d).isCloseTo(reference[d], within(0.015f));
        }
    }

    @Test
    void givesEachInputTheSameVectorWhateverElseIsInTheRequest() {
        List<String> inputs = List.of(GUITAR, "Short.", "A considerably longer sentence, so that a batch holding it needs padding.");

        List<float[]> together = engine.embed(inputs).vectors();

        for (int i = 0; i < inputs.size(); i++) {
            float[] alone = engine.embed(List.of(inputs.get(i))).vectors().getFirst();
            assertThat(together.get(i)).as("input %d", i).containsExactly(alone, within(1e-4f));
        }
    }

    @Test
    void computesAnInputInABatchExactlyAsAloneWhenNothingElseDiffers() {
        // Identical rows leave the quantization range of the batch unchanged, so only the batch
        // layout and per-row pooling are under test here.
        try (OnnxEmbeddingEngine batching = open(options().withBatching(8, 4096))) {
            float[] alone = batching.embed(List.of(GUITAR)).vectors().getFirst();

            List<float[]> batched = batching.embed(List.of(GUITAR, GUITAR, GUITAR)).vectors();

            assertThat(batched).allSatisfy(vector -> assertThat(vector).containsExactly(alone, within(1e-5f)));
        }
    }

    @Test
    void splitsBatchedRequestsIntoRunsAndKeepsInputOrder() {
        List<String> inputs = List.of(
                GUITAR,
                STOCKS,
                "Bananas are rich in potassium.",
                "The committee postponed its decision on the new railway line until after the elections next spring.",
                "Quantum computers use qubits.",
                "hello world",
                "My grandmother knits warm woollen socks for the whole family every winter, always in bright colours.");
        List<float[]> alone = engine.embed(inputs).vectors();

        // At most three inputs or 64 tokens per run: several runs, each padded to its longest input.
        try (OnnxEmbeddingEngine batching = open(options().withMaxInputTokens(64).withBatching(3, 64))) {
            List<float[]> batched = batching.embed(inputs).vectors();

            // The bundled model is int8 with dynamic quantization, which scales activations over
            // the whole batch, so batch-mates shift vectors slightly; a vector in the wrong
            // place would be far off.
            for (int i = 0; i < inputs.size(); i++) {
                for (int j = 0; j < inputs.size(); j++) {
                    double similarity = cosine(batched.get(i), alone.get(j));
                    if (i == j) {
                        assertThat(similarity).as("input %d", i).isGreaterThan(0.95);
                    } else {
                        assertThat(similarity).as("input %d against input %d", i, j).isLessThan(0.9);
                    }
                }
            }
        }
    }

    @Test
    void leavesPaddingOutOfTheMean() {
        String longer = "The committee postponed its decision on the new railway line until after the elections next spring,"
                + " citing the cost of the tunnels and the objections of three villages along the proposed route.";
        float[] alone = engine.embed(List.of("hello world")).vectors().getFirst();

        try (OnnxEmbeddingEngine batching = open(options().withBatching(2, 4096))) {
            float[] padded = batching.embed(List.of("hello world", longer)).vectors().getFirst();

            // Batch-wide int8 quantization alone leaves this at about 0.98; averaging the 40-odd
            // padding positions in as well would drop it to about 0.57.
            assertThat(cosine(padded, alone)).isGreaterThan(0.9);
        }
    }

    @Test
    void countsSpecialTokens() {
        // [CLS] hello world [SEP]
        assertThat(engine.countTokens("hello world")).isEqualTo(4);
    }

    @Test
    void countsTokensPastTheTokenizerFilesOwnTruncation() {
        // The bundled tokenizer.json truncates at 128 tokens; the engine must see every token.
        assertThat(engine.countTokens("word ".repeat(300))).isEqualTo(302);
    }

    @Test
    void reportsPromptTokensAsTheSumOfEachInputsTokens() {
        List<String> inputs = List.of(GUITAR, STRUMMING, "hello world");

        Embeddings embeddings = engine.embed(inputs);

        int expected = inputs.stream().mapToInt(engine::countTokens).sum();
        assertThat(embeddings.promptTokens()).isEqualTo(expected);
    }

    @Test
    void rejectsAnInputLongerThanTheTokenLimitAndKeepsWorking() {
        String tooLong = "word ".repeat(600);

        assertThatThrownBy(() -> engine.embed(List.of(GUITAR, STOCKS, tooLong)))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).isEqualTo("input");
                })
                .hasMessage("input[2] has 602 tokens; this model accepts at most 512 per input");

        assertThat(engine.embed(List.of(GUITAR)).vectors()).hasSize(1);
    }

    @Test
    void acceptsAnInputOfExactlyTheTokenLimit() {
        String longest = "word ".repeat(510);

        assertThat(engine.embed(List.of(longest)).promptTokens()).isEqualTo(512);
    }

    @Test
    void rejectsAnEmptyInput() {
        assertThatThrownBy(() -> engine.embed(List.of(GUITAR, "")))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).isEqualTo("input");
                })
                .hasMessage("input[1] is empty; embeddings need at least one character");
    }

    @Test
    void rejectsAnEmptyList() {
        assertThatThrownBy(() -> engine.embed(List.of()))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void givesConcurrentCallersTheSameVectorsAsSequentialOnes() throws Exception {
        List<String> inputs = List.of(GUITAR, STRUMMING, STOCKS, "hello world", "Short.");
        List<List<float[]>> sequential = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            sequential.add(engine.embed(rotate(inputs, t)).vectors());
        }

        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<float[]>>> concurrent = new ArrayList<>();
        try (ExecutorService threads = Executors.newFixedThreadPool(8)) {
            for (int t = 0; t < 8; t++) {
                List<String> mine = rotate(inputs, t);
                concurrent.add(threads.submit(() -> {
                    start.await();
                    return engine.embed(mine).vectors();
                }));
            }
            start.countDown();
            for (int t = 0; t < 8; t++) {
                List<float[]> got = concurrent.get(t).get();
                for (int i = 0; i < inputs.size(); i++) {
                    assertThat(got.get(i)).containsExactly(sequential.get(t).get(i), within(1e-5f));
                }
            }
        }
    }

    @Test
    void refusesCallsAfterClose() {
        OnnxEmbeddingEngine closing = open(options());
        closing.close();
        closing.close();

        assertThatThrownBy(() -> closing.embed(List.of(GUITAR)))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
        assertThatThrownBy(() -> closing.countTokens(GUITAR))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
    }

    @Test
    void refusesAModelFileThatIsNotOnnx() throws IOException {
        Path notAModel = Files.writeString(modelDir.resolve("not-a-model.onnx"), "not a model");

        assertThatThrownBy(() -> OnnxEmbeddingEngine.open(notAModel, modelDir.resolve(BundledMiniLm.NAME_TOKENIZER_FILE), options()))
                .isInstanceOfSatisfying(FactoryException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("not-a-model.onnx");
    }

    @Test
    void switchesOffDjlsCallHomeBeforeLoadingATokenizer() {
        // Without these DJL queries the EC2 metadata endpoint and a telemetry URL on first use.
        assertThat(System.getProperty("OPT_OUT_TRACKING")).isEqualTo("true");
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
    }

    private static OnnxEmbeddingOptions options() {
        return OnnxEmbeddingOptions.defaults().withNativeCacheDir(nativeCache);
    }

    private static OnnxEmbeddingEngine open(OnnxEmbeddingOptions options) {
        return OnnxEmbeddingEngine.open(
                modelDir.resolve(BundledMiniLm.NAME_MODEL_FILE), modelDir.resolve(BundledMiniLm.NAME_TOKENIZER_FILE), options);
    }

    private static List<String> rotate(List<String> list, int by) {
        List<String> rotated = new ArrayList<>(list);
        Collections.rotate(rotated, by);
        return rotated;
    }

    private static double norm(float[] v) {
        return Math.sqrt(dot(v, v));
    }

    private static double cosine(float[] a, float[] b) {
        return dot(a, b) / (norm(a) * norm(b));
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }
}
