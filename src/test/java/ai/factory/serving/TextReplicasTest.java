package ai.factory.serving;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.TestModels;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.SamplingParams;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.engine.llama.LlamaEngine;
import ai.factory.engine.llama.LlamaEngineOptions;
import ai.factory.engine.llama.LlamaRuntime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Which replica serves a prompt: two replicas of the tiny random Llama-2 model with one slot each, so that where a
 * conversation's earlier turn ran decides whether its next turn computes its beginning again.
 */
class TextReplicasTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static TextEngine load() {
        return LlamaEngine.load(LlamaRuntime.load(), TestModels.tinyLlama(), LlamaEngineOptions.defaults()
                .withContextPerSequence(512).withParallel(1).withThreads(1));
    }

    private static int[] tokens(int seed, int length) {
        return IntStream.range(0, length).map(i -> 100 + Math.floorMod((seed + 1) * 7919 + i * 104_729, 31_000)).toArray();
    }

    private static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, List.of(), true, false, 0);
    }

    /** The generated ids, and the prompt tokens the engine reused from its cache. */
    private static int[] run(Generation generation, List<Integer> cached) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        while (true) {
            TokenEvent event = generation.next(TIMEOUT);
            assertThat(event).as("an event within %s", TIMEOUT).isNotNull();
            switch (event) {
                case TokenEvent.Token token -> ids.add(token.id());
                case TokenEvent.Done done -> {
                    cached.add(done.cachedPromptTokens());
                    return ids.stream().mapToInt(Integer::intValue).toArray();
                }
            }
        }
    }

    /** The engine frees a slot just after the generation's end reaches its caller. */
    private static void awaitIdle(TextEngine engine) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (engine.load().active() > 0) {
            assertThat(System.nanoTime()).as("idle within %s", TIMEOUT).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void callsRoutedAtTheSameMomentSpreadOverTheReplicas() {
        try (TextEngine first = load(); TextEngine second = load()) {
            TextReplicas replicas = new TextReplicas(List.of(first, second));
            int[] prompt = tokens(3, 40);
            // Neither call handed to its replica yet (its quota being checked): the second does not follow the first.
            try (TextReplicas.Routed a = replicas.route(prompt); TextReplicas.Routed b = replicas.route(prompt)) {
                assertThat(a.engine()).isSameAs(first);
                assertThat(b.engine()).as("the first counts as busy with the call routed to it").isSameAs(second);
                a.close();
                a.close(); // once
                assertThat(replicas.leastBusy()).isSameAs(first);
            }
            assertThat(replicas.leastBusy()).as("both handed over: idle again, by load alone").isSameAs(first);
            assertThat(TextReplicas.routed(first) + TextReplicas.routed(second)).isZero();
        }
    }

    @Test
    void aConversationsNextTurnGoesToTheReplicaHoldingItsEarlierTurnsWhileThatReplicaHasRoom() throws Exception {
        try (TextEngine first = load(); TextEngine second = load()) {
            TextReplicas replicas = new TextReplicas(List.of(first, second));
            int[] busyPrompt = tokens(1, 20);
            assertThat(replicas.forPrompt(busyPrompt)).as("nothing cached: the least busy, the first").isSameAs(first);
            Generation busy = first.submit(greedy(busyPrompt, 400));
            assertThat(busy.next(TIMEOUT)).isInstanceOf(TokenEvent.Token.class);

            int[] turn1 = tokens(2, 100);
            assertThat(replicas.forPrompt(turn1)).as("the first is busy").isSameAs(second);
            List<Integer> cached = new ArrayList<>();
            int[] answer = run(second.submit(greedy(turn1, 16)), cached);
            int[] turn2 = IntStream.concat(IntStream.concat(IntStream.of(turn1), IntStream.of(answer)),
                    IntStream.of(tokens(3, 30))).toArray();

            // The first replica is still busy and has no room: the holder, with a free slot, gets the turn.
            assertThat(replicas.forPrompt(turn2)).isSameAs(second);
            busy.cancel();
            run(busy, new ArrayList<>());
            awaitIdle(first);
            awaitIdle(second);
            assertThat(replicas.leastBusy()).as("both idle: by load alone, the first").isSameAs(first);
            TextEngine chosen = replicas.forPrompt(turn2);
            assertThat(chosen).as("by what it holds, the second").isSameAs(second);
            run(chosen.submit(greedy(turn2, 8)), cached);
            assertThat(cached.getLast()).as("the earlier turn's prompt and answer were not computed again")
                    .isGreaterThanOrEqualTo(turn1.length + answer.length - 1);
        }
    }

    @Test
    void aBeginningEveryReplicaHoldsDoesNotPullCallsToOne() throws Exception {
        try (TextEngine first = load(); TextEngine second = load()) {
            TextReplicas replicas = new TextReplicas(List.of(first, second));
            int[] system = tokens(5, TextReplicas.MIN_AFFINITY_TOKENS + 8);
            int[] earlier = IntStream.concat(IntStream.of(system), IntStream.of(tokens(6, 4))).toArray();
            run(first.submit(greedy(system, 4)), new ArrayList<>());
            run(second.submit(greedy(earlier, 4)), new ArrayList<>());
            // Both hold the shared beginning; the second also holds a few tokens of an earlier call's own.
            int[] next = IntStream.concat(IntStream.of(earlier), IntStream.of(tokens(7, 8))).toArray();
            assertThat(second.cachedPrefix(next)).isGreaterThan(first.cachedPrefix(next));
            assertThat(first.cachedPrefix(next)).isGreaterThanOrEqualTo(TextReplicas.MIN_AFFINITY_TOKENS);
            assertThat(replicas.forPrompt(next)).as("a few tokens more are not worth it: the least busy")
                    .isSameAs(replicas.leastBusy());
        }
    }

    @Test
    void aShortCommonBeginningIsNotWorthAReplicaOfItsOwn() throws Exception {
        try (TextEngine first = load(); TextEngine second = load()) {
            TextReplicas replicas = new TextReplicas(List.of(first, second));
            int[] prompt = tokens(4, TextReplicas.MIN_AFFINITY_TOKENS - 1);
            run(second.submit(greedy(prompt, 4)), new ArrayList<>());
            assertThat(second.cachedPrefix(prompt)).isEqualTo(prompt.length);
            assertThat(replicas.forPrompt(prompt)).isSameAs(first);
        }
    }
}
