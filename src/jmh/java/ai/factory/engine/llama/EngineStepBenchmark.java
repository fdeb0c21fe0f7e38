package ai.factory.engine.llama;

import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java side of one decode step of {@link LlamaEngine}'s batching loop, without llama.cpp: filling the batch with
 * the pending token of every generating slot ({@link LlamaEngine#fillBatch}), then for each slot what follows the
 * native sampling call: the token's piece through the UTF-8 hold-back and two stop strings ({@link Slot#output}),
 * the token event onto the generation's queue, and the reader taking it off. Pieces cycle through a fixed set that
 * includes split multi-byte characters and near-misses of the stop strings, so the hold-back paths run too.
 * {@code llama_decode} and the sampler chain are native and measured by {@code factory bench}, not here.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class EngineStepBenchmark {
    private static final int CONTEXT = 4096;
    private static final int PROMPT = 256;
    private static final List<String> STOPS = List.of("\nUser:", "</answer>");
    /** Token pieces as llama.cpp hands them over: words, punctuation, a newline, "é" and "€" split across tokens. */
    private static final byte[][] PIECES = {
            bytes(" The"), bytes(" archive"), bytes(" volume"), {(byte) 0xC3}, {(byte) 0xA9}, bytes(" is"), bytes("\n"),
            bytes("Use"), bytes("r"), bytes(" at"), bytes(" 97"), bytes("%."), {(byte) 0xE2, (byte) 0x82},
            {(byte) 0xAC}, bytes(" <"), bytes("/ans"), bytes(" remove"), bytes(" old"), bytes(" exports"), bytes("."),
    };

    @Param({"1", "4", "16"})
    int parallel;

    private Arena arena;
    private LlamaBatch batch;
    private Slot[] slots;
    private MemorySegment[] pieces;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        batch = new LlamaBatch(arena, 512);
        pieces = new MemorySegment[PIECES.length];
        for (int i = 0; i < PIECES.length; i++) {
            pieces[i] = arena.allocate(PIECES[i].length);
            MemorySegment.copy(PIECES[i], 0, pieces[i], java.lang.foreign.ValueLayout.JAVA_BYTE, 0, PIECES[i].length);
        }
        slots = new Slot[parallel];
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = 1 + i;
        }
        SamplingParams sampling = new SamplingParams(0.7f, 0.95f, 0, 0f, 1f, 0f, 0f, 64, 42L);
        for (int s = 0; s < parallel; s++) {
            Slot slot = new Slot(s, CONTEXT);
            GenerationRequest request = new GenerationRequest(prompt, sampling, 0, STOPS, false, false, 0);
            slot.generation = new LlamaGeneration(request, prompt, 42, g -> {});
            slot.prompt = prompt;
            slot.promptIndex = PROMPT;
            for (int i = 0; i < PROMPT; i++) {
                slot.append(prompt[i]);
            }
            slot.pendingToken = 7;
            slot.utf8 = new Utf8Pieces();
            slot.stops = new StopStrings(STOPS);
            slots[s] = slot;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** One decode step for {@code parallel} generating slots; returns the number of events read back. */
    @Benchmark
    public int decodeStep() throws InterruptedException {
        LlamaEngine.fillBatch(batch, slots, 0, 512);
        int read = 0;
        for (Slot slot : slots) {
            int token = next % PIECES.length;
            next++;
            slot.generated++;
            Slot.Output output = slot.output(false, pieces[token], PIECES[token].length, 0, CONTEXT);
            slot.generation.emit(new TokenEvent.Token(token, output.text(), Float.NaN, List.of()));
            slot.pendingToken = token;
            if (slot.generation.next(Duration.ZERO) != null) {
                read++;
            }
            if (slot.cached == CONTEXT - 2) {
                // A long generation's cache wraps back to its prompt so the slot never fills up (context rule aside).
                slot.cached = PROMPT;
            }
        }
        return read;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
