package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.TokenEvent.Done;
import ai.factory.engine.TokenEvent.FinishReason;
import ai.factory.engine.TokenEvent.Token;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine on the tiny random Llama-2 model: gibberish, but deterministic at temperature 0, which is all
 * these tests need. One engine with 4 slots serves most tests; tests that need other options load their own.
 */
class LlamaEngineTest {
    private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(30);
    private static final int CONTEXT = 512;

    private static LlamaRuntime runtime;
    private static LlamaEngine shared;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadSharedEngine() {
        runtime = LlamaTestSupport.runtime();
        shared = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(4));
    }

    @AfterAll
    static void closeSharedEngine() {
        if (shared != null) {
            shared.close();
        }
    }

    private static LlamaEngineOptions options(int parallel) {
        return LlamaEngineOptions.defaults().withContextPerSequence(CONTEXT).withParallel(parallel).withThreads(1);
    }

    record Result(List<Token> tokens, Done done) {
        int[] ids() {
            return tokens.stream().mapToInt(Token::id).toArray();
        }

        String text() {
            StringBuilder text = new StringBuilder();
            tokens.forEach(t -> text.append(t.text()));
            return text.toString();
        }
    }

    private static Result collect(Generation generation) throws InterruptedException {
        List<Token> tokens = new ArrayList<>();
        while (true) {
            TokenEvent event = generation.next(EVENT_TIMEOUT);
            assertThat(event).as("an event within %s", EVENT_TIMEOUT).isNotNull();
            switch (event) {
                case Token token -> tokens.add(token);
                case Done done -> {
                    return new Result(tokens, done);
                }
            }
        }
    }

    private static Token firstToken(Generation generation) throws InterruptedException {
        TokenEvent event = generation.next(EVENT_TIMEOUT);
        assertThat(event).isInstanceOf(Token.class);
        return (Token) event;
    }

    private static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, List.of(), true, false, 0);
    }

    private static Result run(LlamaEngine engine, GenerationRequest request) throws InterruptedException {
        return collect(engine.submit(request));
    }

    private static int[] prompt(String text) {
        return shared.tokenize(text, true, false);
    }

    @Test
    void describesTheLoadedModel() {
        assertThat(shared.info().vocabularySize()).isEqualTo(32000);
        assertThat(shared.info().contextPerSequence()).isEqualTo(CONTEXT);
        assertThat(shared.info().parallel()).isEqualTo(4);
        assertThat(shared.info().bosText()).isEqualTo("<s>");
        assertThat(shared.info().eosText()).isEqualTo("</s>");
        assertThat(shared.info().addBos()).isTrue();
        assertThat(shared.load().slots()).isEqualTo(4);
    }

    @Test
    void tokenizeAndDetokenizeRoundTripWithAndWithoutBos() {
        int[] withBos = shared.tokenize("Hello world", true, false);
        int[] withoutBos = shared.tokenize("Hello world", false, false);

        assertThat(withBos[0]).isEqualTo(1);
        assertThat(withoutBos).isEqualTo(Arrays.copyOfRange(withBos, 1, withBos.length));
        assertThat(shared.detokenize(withBos)).isEqualTo("Hello world");
        assertThat(shared.detokenize(withoutBos)).isEqualTo("Hello world");
        assertThat(shared.tokenize("grüße 😀", false, false)).satisfies(
                tokens -> assertThat(shared.detokenize(tokens)).isEqualTo("grüße 😀"));
    }

    @Test
    void greedyGenerationRepeatsExactlyAndStreamsWhatDetokenizeGives() throws Exception {
        int[] prompt = prompt("Once upon a time");
        Result first = run(shared, greedy(prompt, 40));
        Result second = run(shared, greedy(prompt, 40));

        assertThat(first.done().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(second.ids()).isEqualTo(first.ids());
        assertThat(second.text()).isEqualTo(first.text());
        int[] all = IntStream.concat(Arrays.stream(prompt), Arrays.stream(first.ids())).toArray();
        String promptText = shared.detokenize(prompt);
        assertThat(shared.detokenize(all)).startsWith(promptText);
        assertThat(first.text()).isEqualTo(shared.detokenize(all).substring(promptText.length()));
    }

    @Test
    void maxTokensEndsWithLengthAfterExactlyThatManyTokens() throws Exception {
        Result result = run(shared, greedy(prompt("Count to seven"), 7));

        assertThat(result.tokens()).hasSize(7);
        assertThat(result.done().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(result.done().completionTokens()).isEqualTo(7);
        assertThat(result.done().promptTokens()).isEqualTo(prompt("Count to seven").length);
    }

    @Test
    void stopStringEndsTheGenerationAndIsNeverEmitted() throws Exception {
        int[] prompt = prompt("The stop string test");
        String free = run(shared, greedy(prompt, 40)).text();
        // A stop taken from the middle of the free run is bound to occur when the run is repeated.
        String stop = free.substring(free.length() / 2, free.length() / 2 + 4);

        Result stopped = run(shared, new GenerationRequest(prompt, SamplingParams.GREEDY, 40, List.of("\u0000never", stop),
                true, false, 0));

        assertThat(stopped.done().reason()).isEqualTo(FinishReason.STOP_SEQUENCE);
        assertThat(stopped.text()).isEqualTo(free.substring(0, free.indexOf(stop))).doesNotContain(stop);
    }

    @Test
    void endOfGenerationStopsUnlessIgnoreEos() throws Exception {
        int[] prompt = prompt("Hello world");
        int[] free = run(shared, greedy(prompt, 5)).ids();
        // The random model never picks its real EOS, so a copy of it names the third greedy token EOS.
        try (LlamaEngine engine = LlamaEngine.load(runtime, withEosToken(free[2]), options(1))) {
            Result stops = run(engine, new GenerationRequest(prompt, SamplingParams.GREEDY, 5, List.of(), false, false, 0));
            Result ignores = run(engine, new GenerationRequest(prompt, SamplingParams.GREEDY, 5, List.of(), true, false, 0));

            assertThat(stops.done().reason()).isEqualTo(FinishReason.STOP);
            assertThat(stops.ids()).containsExactly(free[0], free[1], free[2]);
            assertThat(stops.tokens().get(2).text()).isEmpty();
            assertThat(ignores.done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(ignores.ids()).isEqualTo(free);
        }
    }

    @Test
    void concurrentRequestsOnFourSlotsGiveWhatEachGivesAlone() throws Exception {
        List<int[]> prompts = IntStream.range(0, 16).mapToObj(i -> prompt("Request number " + i + " says")).toList();
        List<Generation> generations = prompts.stream().map(p -> shared.submit(greedy(p, 24))).toList();
        List<Result> together = new ArrayList<>();
        for (Generation generation : generations) {
            together.add(collect(generation));
        }

        try (LlamaEngine alone = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            for (int i = 0; i < prompts.size(); i++) {
                Result single = run(alone, greedy(prompts.get(i), 24));
                assertThat(together.get(i).done().reason()).isEqualTo(FinishReason.LENGTH);
                assertThat(together.get(i).ids()).as("request %d", i).isEqualTo(single.ids());
                assertThat(together.get(i).text()).as("request %d", i).isEqualTo(single.text());
            }
        }
    }

    @Test
    void refusesSubmissionsWhenTheQueueIsFull() throws Exception {
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1).withQueueCapacity(2))) {
            Generation running = engine.submit(greedy(prompt("busy"), 0));
            firstToken(running);
            engine.submit(greedy(prompt("waits"), 4));
            engine.submit(greedy(prompt("waits too"), 4));

            assertThat(engine.load().waiting()).isEqualTo(2);
            assertThatThrownBy(() -> engine.submit(greedy(prompt("one too many"), 4)))
                    .isInstanceOfSatisfying(FactoryException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
                        assertThat(e.getMessage()).contains("queue is full (2 waiting)");
                    });
            running.cancel();
        }
    }

    @Test
    void severalGenerationsAreQueuedAllOrNone() throws Exception {
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1).withQueueCapacity(2))) {
            Generation running = engine.submit(greedy(prompt("busy"), 0));
            firstToken(running);
            List<GenerationRequest> three = List.of(greedy(prompt("a"), 4), greedy(prompt("b"), 4), greedy(prompt("c"), 4));
            assertThatThrownBy(() -> engine.submitAll(three)).isInstanceOfSatisfying(FactoryException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                assertThat(e.param()).isEqualTo("n");
                assertThat(e.getMessage()).contains("queues at most 2 sequences", "needs 3");
            });
            engine.submit(greedy(prompt("waits"), 4));

            assertThatThrownBy(() -> engine.submitAll(three.subList(0, 2)))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED));
            assertThatThrownBy(() -> engine.submitAll(List.of(greedy(prompt("fine"), 4), greedy(new int[] {1, 32000}, 4))))
                    .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("prompt"));
            assertThat(engine.load().waiting()).isEqualTo(1);
            assertThat(engine.submitAll(three.subList(0, 1))).hasSize(1);
            assertThat(engine.load().waiting()).isEqualTo(2);
            running.cancel();
        }
    }

    @Test
    void choicesOfOnePromptCopyItsCellsAndGenerateWhatEachGivesAlone() throws Exception {
        int[] prompt = prompt("Three choices of one prompt whose cells are computed once and copied");
        SamplingParams seeded = new SamplingParams(0.9f, 1f, 0, 0f, 1f, 0f, 0f, 64, 78L);
        GenerationRequest sampled = new GenerationRequest(prompt, seeded, 16, List.of(), true, false, 0);
        List<Generation> generations = shared.submitAll(List.of(greedy(prompt, 16), greedy(prompt, 16), sampled));
        List<Result> together = new ArrayList<>();
        for (Generation generation : generations) {
            together.add(collect(generation));
        }

        try (LlamaEngine alone = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            int[] greedyAlone = run(alone, greedy(prompt, 16)).ids();
            int[] sampledAlone = run(alone, sampled).ids();
            assertThat(together.get(0).ids()).isEqualTo(greedyAlone);
            assertThat(together.get(1).ids()).isEqualTo(greedyAlone);
            assertThat(together.get(2).ids()).isEqualTo(sampledAlone).isNotEqualTo(greedyAlone);
        }
        // The followers computed at most the last prompt token (all of it copied, or all but that one).
        for (int i = 1; i < 3; i++) {
            assertThat(together.get(i).done().cachedPromptTokens()).as("choice %d", i)
                    .isGreaterThanOrEqualTo(prompt.length - 1);
        }
    }

    @Test
    void aChoiceAdmittedWhileItsLeaderGeneratesCopiesThePromptAndGeneratesTheSame() throws Exception {
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(2).withContextPerSequence(2048))) {
            Generation occupying = engine.submit(greedy(prompt("holds the other slot"), 0));
            firstToken(occupying);
            int[] prompt = prompt("A prompt that the second choice takes from the first");
            List<Generation> choices = engine.submitAll(List.of(greedy(prompt, 0), greedy(prompt, 0)));
            Token first = firstToken(choices.get(0));
            // The leader generates; the slot freed now goes to the other choice, which copies the leader's cells.
            occupying.cancel();

            Result leader = collect(choices.get(0));
            Result follower = collect(choices.get(1));
            assertThat(follower.done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(follower.done().cachedPromptTokens()).isEqualTo(prompt.length - 1);
            assertThat(follower.ids()).startsWith(first.id()).isEqualTo(IntStream.concat(IntStream.of(first.id()),
                    Arrays.stream(leader.ids())).toArray());
        }
    }

    @Test
    void cancellingFreesTheSlotForTheNextRequest() throws Exception {
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            Generation long_ = engine.submit(greedy(prompt("a long story"), 0));
            firstToken(long_);
            Generation next = engine.submit(greedy(prompt("next"), 6));
            assertThat(engine.load().waiting()).isEqualTo(1);

            long_.cancel();

            Result cancelled = collect(long_);
            assertThat(cancelled.done().reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(cancelled.done().completionTokens()).isLessThan(CONTEXT - 10);
            Result following = collect(next);
            assertThat(following.done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(following.tokens()).hasSize(6);
        }
    }

    @Test
    void cancellingAWaitingRequestEndsItAtOnce() throws Exception {
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            Generation running = engine.submit(greedy(prompt("busy"), 0));
            firstToken(running);
            Generation waiting = engine.submit(greedy(prompt("waits"), 4));

            waiting.cancel();

            assertThat(collect(waiting).done().reason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(engine.load().waiting()).isZero();
            running.cancel();
        }
    }

    @Test
    void reusesACachedPromptPrefixAndGeneratesTheSame() throws Exception {
        int[] first = prompt("A shared beginning that is long enough to matter");
        int[] extension = shared.tokenize(" and then it goes on", false, false);
        int[] second = IntStream.concat(Arrays.stream(first), Arrays.stream(extension)).toArray();
        Result reused;
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            run(engine, greedy(first, 8));
            reused = run(engine, greedy(second, 16));
        }
        Result fresh;
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1))) {
            fresh = run(engine, greedy(second, 16));
        }

        assertThat(reused.done().cachedPromptTokens()).isEqualTo(first.length);
        assertThat(fresh.done().cachedPromptTokens()).isZero();
        assertThat(reused.ids()).isEqualTo(fresh.ids());
    }

    @Test
    void aFailedDecodeEndsTheRequestsInTheBatchWithErrorAndTheEngineGoesOn() throws Exception {
        AtomicBoolean failNext = new AtomicBoolean();
        LlamaLibrary llama = runtime.library();
        // Stands in for llama_decode answering -1 (an invalid batch) once, on request.
        LlamaEngine.Decoder failingOnce = (context, batch) -> failNext.getAndSet(false) ? -1 : llama.decode(context, batch);
        int[] prompt = prompt("Errors happen");
        int[] expected = run(shared, greedy(prompt, 8)).ids();
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(2), failingOnce)) {
            Generation failing = engine.submit(greedy(prompt("doomed"), 0));
            firstToken(failing);
            failNext.set(true);

            Result failed = collect(failing);
            Result after = run(engine, greedy(prompt, 8));

            assertThat(failed.done().reason()).isEqualTo(FinishReason.ERROR);
            assertThat(failed.done().error()).startsWith("llama_decode failed (-1)");
            assertThat(after.done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(after.ids()).isEqualTo(expected);
        }
    }

    @Test
    void refusesAPromptThatLeavesNoRoomToGenerate() {
        int[] tooLong = new int[CONTEXT];
        Arrays.fill(tooLong, 100);

        assertThatThrownBy(() -> shared.submit(greedy(tooLong, 1)))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    // A 400 like any invalid request, told apart so APIs can name it (context_length_exceeded).
                    assertThat(e.code()).isEqualTo(ErrorCode.CONTEXT_LENGTH_EXCEEDED);
                    assertThat(e.code().httpStatus()).isEqualTo(400);
                    assertThat(e.param()).isEqualTo("prompt");
                    assertThat(e.getMessage()).contains("512 tokens", "context of 512 tokens per sequence");
                });
    }

    @Test
    void refusesTokensOutsideTheVocabulary() {
        assertThatThrownBy(() -> shared.submit(greedy(new int[] {1, 32000}, 1)))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.param()).isEqualTo("prompt"));
    }

    @Test
    void fillingTheContextEndsWithLength() throws Exception {
        int[] prompt = new int[CONTEXT - 5];
        Arrays.fill(prompt, 450);
        prompt[0] = 1;

        Result result = run(shared, greedy(prompt, 0));

        assertThat(result.done().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(result.tokens()).hasSize(5);
    }

    @Test
    void aTruncatedGgufFailsToLoadWithTheReasonAndTheProcessCarriesOn() throws Exception {
        byte[] model = Files.readAllBytes(TestModels.tinyLlama());
        Path truncated = Files.write(dir.resolve("truncated.gguf"), Arrays.copyOf(model, model.length / 2));

        assertThatThrownBy(() -> LlamaEngine.load(runtime, truncated, options(1)))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).startsWith("cannot load GGUF model truncated.gguf: ")
                            .doesNotEndWith("llama.cpp gave no reason");
                });
        assertThat(run(shared, greedy(prompt("still alive"), 2)).tokens()).hasSize(2);
    }

    @Test
    void closingEndsRunningAndWaitingGenerationsAsCancelled() throws Exception {
        LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options(1));
        Generation running = engine.submit(greedy(prompt("running"), 0));
        firstToken(running);
        Generation waiting = engine.submit(greedy(prompt("waiting"), 4));

        engine.close();
        engine.close();

        assertThat(collect(running).done().reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(collect(waiting).done().reason()).isEqualTo(FinishReason.CANCELLED);
        assertThatThrownBy(() -> engine.submit(greedy(prompt("late"), 1)))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
    }

    @Test
    void seededSamplingRepeatsWithTheSameSeed() throws Exception {
        int[] prompt = prompt("Roll the dice");
        SamplingParams seeded = new SamplingParams(0.8f, 0.95f, 40, 0.05f, 1.1f, 0f, 0f, 64, 1234L);
        GenerationRequest request = new GenerationRequest(prompt, seeded, 24, List.of(), true, false, 0);

        Result first = run(shared, request);
        Result second = run(shared, request);

        assertThat(second.ids()).isEqualTo(first.ids());
        assertThat(first.ids()).isNotEqualTo(run(shared, greedy(prompt, 24)).ids());
    }

    @Test
    void logprobsAreNonPositiveWithSortedAlternatives() throws Exception {
        Result result = run(shared, new GenerationRequest(prompt("Probabilities"), SamplingParams.GREEDY, 8, List.of(),
                true, true, 5));

        for (Token token : result.tokens()) {
            assertThat(token.logprob()).isNotNaN().isLessThanOrEqualTo(0f);
            assertThat(token.top()).hasSize(5);
            assertThat(token.top()).extracting(TokenEvent.TopLogprob::logprob)
                    .isSortedAccordingTo((a, b) -> Float.compare(b, a))
                    .allSatisfy(p -> assertThat(p).isLessThanOrEqualTo(0f));
            // Greedy picks the most likely token.
            assertThat(token.top().getFirst().id()).isEqualTo(token.id());
            assertThat(token.top().getFirst().logprob()).isEqualTo(token.logprob());
        }
    }

    /** A copy of the tiny model whose metadata names {@code token} as EOS. */
    private Path withEosToken(int token) throws IOException {
        byte[] model = Files.readAllBytes(TestModels.tinyLlama());
        byte[] key = "tokenizer.ggml.eos_token_id".getBytes(StandardCharsets.UTF_8);
        int at = indexOf(model, key);
        assertThat(at).as("the model names its EOS").isPositive();
        ByteBuffer buffer = ByteBuffer.wrap(model).order(ByteOrder.LITTLE_ENDIAN);
        // GGUF: key, then the value's type (4 = UINT32), then the value.
        assertThat(buffer.getInt(at + key.length)).isEqualTo(4);
        buffer.putInt(at + key.length + 4, token);
        return Files.write(dir.resolve("eos.gguf"), model);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
