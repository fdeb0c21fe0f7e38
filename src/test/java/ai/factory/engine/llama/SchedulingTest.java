package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.Priority;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.TokenEvent.Done;
import ai.factory.engine.TokenEvent.FinishReason;
import ai.factory.engine.TokenEvent.Token;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * How the engine schedules steps, on the tiny random Llama-2 model at temperature 0: prompts are chunked beside the
 * generating sequences, which get their token in every step, and prompts copy their beginning from another slot, and
 * none of it changes a single generated token. Steps are counted by the engine, never timed.
 */
class SchedulingTest {
    private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(60);
    private static final int CONTEXT = 1024;

    private static LlamaRuntime runtime;

    @BeforeAll
    static void loadRuntime() {
        runtime = LlamaTestSupport.runtime();
    }

    private static LlamaEngine engine(int parallel, int stepTokens, boolean sharePrefixes) {
        return LlamaEngine.load(runtime, TestModels.tinyLlama(), LlamaEngineOptions.defaults()
                .withContextPerSequence(CONTEXT).withParallel(parallel).withThreads(1)
                .withStepTokens(stepTokens).withSharePrefixes(sharePrefixes));
    }

    /** {@code length} token ids, different for each {@code seed}: prompts of any length without a tokenizer. */
    private static int[] tokens(int seed, int length) {
        return IntStream.range(0, length).map(i -> 100 + Math.floorMod((seed + 1) * 7919 + i * 104_729, 31_000)).toArray();
    }

    private static int[] concat(int[] first, int[] second) {
        return IntStream.concat(IntStream.of(first), IntStream.of(second)).toArray();
    }

    private static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, List.of(), true, false, 0);
    }

    record Result(int[] ids, Done done) {}

    private static Result collect(Generation generation) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        while (true) {
            TokenEvent event = generation.next(EVENT_TIMEOUT);
            assertThat(event).as("an event within %s", EVENT_TIMEOUT).isNotNull();
            switch (event) {
                case Token token -> ids.add(token.id());
                case Done done -> {
                    return new Result(ids.stream().mapToInt(Integer::intValue).toArray(), done);
                }
            }
        }
    }

    private static void awaitFirstToken(Generation generation) throws InterruptedException {
        assertThat(generation.next(EVENT_TIMEOUT)).isInstanceOf(Token.class);
    }

    @Test
    void aLongPromptIsChunkedWhileEveryGeneratingSequenceGetsItsTokenInEveryStep() throws Exception {
        int stepTokens = 16;
        int promptLength = 600;
        try (LlamaEngine engine = engine(4, stepTokens, true)) {
            List<LlamaGeneration> running = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                running.add((LlamaGeneration) engine.submit(greedy(tokens(i, 8), 400)));
            }
            for (LlamaGeneration generation : running) {
                awaitFirstToken(generation);
            }
            LlamaGeneration longPrompt = (LlamaGeneration) engine.submit(greedy(tokens(9, promptLength), 4));
            Result prefilled = collect(longPrompt);
            List<Result> results = new ArrayList<>();
            for (LlamaGeneration generation : running) {
                results.add(collect(generation));
            }

            assertThat(prefilled.done().reason()).isEqualTo(FinishReason.LENGTH);
            // Alone, the prompt would take two steps (batches of 512); beside three generating sequences it gets at most
            // 16 - 3 tokens a step, so it spans at least this many steps, all of them shared with those sequences.
            assertThat(longPrompt.promptSteps).isGreaterThanOrEqualTo(Math.ceilDiv(promptLength, stepTokens - 3));
            for (int i = 0; i < running.size(); i++) {
                LlamaGeneration generation = running.get(i);
                assertThat(results.get(i).done().completionTokens()).isEqualTo(400);
                assertThat(generation.generatingSteps)
                        .as("generation %d: one token from each step after its first, none skipped for the prompt", i)
                        .isEqualTo(399);
            }
        }
    }

    @Test
    void greedyOutputsAreTheSameWithAndWithoutChunkingAndPrefixSharing() throws Exception {
        int[] system = tokens(100, 120);
        List<GenerationRequest> requests = IntStream.range(0, 16)
                .mapToObj(i -> greedy(i % 3 == 2 ? tokens(i, 40 + 25 * i) : concat(system, tokens(i, 5 + i)), 24 + i))
                .toList();
        List<Result> plain = runTogether(engine(4, 512, false), requests);
        LlamaEngine sharing = engine(4, 8, true);
        List<Result> chunked = runTogether(sharing, requests);

        assertThat(sharing.sharedPrefixes()).as("prompts copied the system prompt from busy slots").isPositive();
        for (int i = 0; i < requests.size(); i++) {
            assertThat(chunked.get(i).done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(chunked.get(i).ids()).as("request %d", i).isEqualTo(plain.get(i).ids());
        }
    }

    /** Submits every request at once, collects them in order, and closes the engine. */
    private static List<Result> runTogether(LlamaEngine engine, List<GenerationRequest> requests) throws InterruptedException {
        try (engine) {
            List<Generation> generations = requests.stream().map(engine::submit).toList();
            List<Result> results = new ArrayList<>();
            for (Generation generation : generations) {
                results.add(collect(generation));
            }
            return results;
        }
    }

    @Test
    void aPromptCopiesItsBeginningFromABusySlotEvictingAFreeSlotsCacheAndNothingRunningChanges() throws Exception {
        int[] shared = tokens(1, 200);
        int[] running = concat(shared, tokens(2, 10));
        int[] copying = concat(shared, tokens(3, 12));
        int[] evicted = tokens(4, 80);
        Result runningAlone;
        Result copyingAlone;
        Result evictedAlone;
        try (LlamaEngine fresh = engine(1, 0, false)) {
            runningAlone = collect(fresh.submit(greedy(running, 300)));
            copyingAlone = collect(fresh.submit(greedy(copying, 40)));
            evictedAlone = collect(fresh.submit(greedy(evicted, 20)));
        }

        try (LlamaEngine engine = engine(2, 0, true)) {
            // Both slots hold something: then one runs the long generation while the other's cache waits, free.
            collect(engine.submit(greedy(evicted, 20)));
            Generation first = engine.submit(greedy(running, 300));
            awaitFirstToken(first);
            Result copied = collect(engine.submit(greedy(copying, 40)));
            Result again = collect(engine.submit(greedy(evicted, 20)));
            Result firstResult = collect(first);

            assertThat(engine.sharedPrefixes()).isEqualTo(1);
            assertThat(copied.done().cachedPromptTokens()).isEqualTo(shared.length);
            assertThat(copied.ids()).isEqualTo(copyingAlone.ids());
            assertThat(again.done().cachedPromptTokens()).as("its cells were overwritten by the copy").isZero();
            assertThat(again.ids()).isEqualTo(evictedAlone.ids());
            assertThat(firstResult.ids()).as("the generation copied from goes on as if alone (less its first token)")
                    .isEqualTo(java.util.Arrays.copyOfRange(runningAlone.ids(), 1, 300));
        }
    }

    @Test
    void aConversationsNextTurnFindsItsBeginningInThePrefixCacheAfterItsSlotServedOthers() throws Exception {
        int[] first = tokens(10, 150);
        int[] other = tokens(11, 120);
        Result firstTurn;
        Result otherTurn;
        Result nextTurn;
        int[] next;
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(CONTEXT).withParallel(1)
                .withThreads(1).withPrefixCache(2);
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options)) {
            firstTurn = collect(engine.submit(greedy(first, 20)));
            otherTurn = collect(engine.submit(greedy(other, 20)));
            // The next turn: the first prompt, its answer, and what the user says next.
            next = concat(concat(first, firstTurn.ids()), tokens(12, 30));
            nextTurn = collect(engine.submit(greedy(next, 20)));

            assertThat(engine.keptPrefixes()).as("the first conversation's cells were kept when the other took the slot; "
                    + "then the cache's sequence and the slot traded places").isEqualTo(1);
            assertThat(engine.sharedPrefixes()).isEqualTo(1);
        }
        assertThat(otherTurn.done().cachedPromptTokens()).isZero();
        // The answer's last token was sampled but never decoded, so the cells end one before it.
        assertThat(nextTurn.done().cachedPromptTokens()).isEqualTo(first.length + firstTurn.ids().length - 1);
        try (LlamaEngine fresh = engine(1, 0, false)) {
            assertThat(nextTurn.ids()).isEqualTo(collect(fresh.submit(greedy(next, 20))).ids());
        }
    }

    @Test
    void eightConversationsOnFourSlotsAndAFourSequencePrefixCacheComputeOnlyWhatEachTurnAdds() throws Exception {
        int sessions = 8;
        LlamaEngineOptions options = LlamaEngineOptions.defaults().withContextPerSequence(CONTEXT).withParallel(4)
                .withThreads(1).withPrefixCache(4);
        List<int[]> prompts = new ArrayList<>();
        for (int s = 0; s < sessions; s++) {
            prompts.add(tokens(20 + s, 60));
        }
        try (LlamaEngine engine = LlamaEngine.load(runtime, TestModels.tinyLlama(), options)) {
            for (int turn = 1; turn <= 4; turn++) {
                List<Generation> generations = new ArrayList<>();
                for (int[] prompt : prompts) {
                    generations.add(engine.submit(greedy(prompt, 12)));
                }
                for (int s = 0; s < sessions; s++) {
                    Result result = collect(generations.get(s));
                    int[] before = prompts.get(s);
                    if (turn > 1) {
                        // All of the turn before, prompt and answer, but the answer's last token (never decoded).
                        assertThat(result.done().cachedPromptTokens()).as("turn %d of conversation %d", turn, s)
                                .isEqualTo(before.length - 20 - 1);
                    }
                    prompts.set(s, concat(concat(before, result.ids()), tokens(100 * turn + s, 20)));
                }
            }
        }
    }

    @Test
    void anInteractiveCallArrivingWhileBatchWorkFillsTheSlotsGetsItsFirstTokenWithinASteps() throws Exception {
        try (LlamaEngine engine = engine(2, 64, false)) {
            // Four long batch generations for two slots: one runs, the last slot stays free for interactive calls.
            List<Generation> batch = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                batch.add(engine.submitAll(List.of(greedy(tokens(i, 8), 400).withPriority(Priority.BATCH))).getFirst());
            }
            awaitFirstToken(batch.getFirst());
            assertThat(engine.load().active()).isEqualTo(1);
            LlamaGeneration interactive = (LlamaGeneration) engine.submitAll(List.of(greedy(tokens(9, 8), 4)))
                    .getFirst();
            awaitFirstToken(interactive);
            // The step under way when it came, then the step that computed its prompt and gave its first token.
            assertThat(interactive.firstTokenStep - interactive.queuedStep).isBetween(0L, 2L);
            assertThat(collect(interactive).done().reason()).isNotNull();
            // Batch work is not starved: every batch generation ends with all its tokens.
            for (Generation g : batch) {
                Result r = collect(g);
                assertThat(r.done().completionTokens()).isEqualTo(400);
            }
        }
    }
}
