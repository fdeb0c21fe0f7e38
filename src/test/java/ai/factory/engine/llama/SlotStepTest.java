package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TokenEvent.FinishReason;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Java side of an engine step, without llama.cpp: slot choice, batch filling and a sampled token's output. */
class SlotStepTest {
    private final Arena arena = Arena.ofAuto();

    private Slot running(int sequence, int[] prompt, List<String> stops) {
        Slot slot = new Slot(sequence, 64);
        slot.generation = new LlamaGeneration(new GenerationRequest(prompt, ai.factory.engine.SamplingParams.GREEDY, 0,
                stops, false, false, 0), prompt, 1, g -> {});
        slot.prompt = prompt;
        slot.utf8 = new Utf8Pieces();
        slot.stops = new StopStrings(stops);
        return slot;
    }

    private MemorySegment piece(byte[] bytes) {
        MemorySegment segment = arena.allocate(Math.max(1, bytes.length));
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return segment;
    }

    private Slot.Output output(Slot slot, String text, int maxTokens) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        slot.generated++;
        return slot.output(false, piece(bytes), bytes.length, maxTokens, 64);
    }

    @Test
    void holdsBackAPossibleStopStringAndEndsOnIt() {
        Slot slot = running(0, new int[] {1}, List.of("\nUser:"));
        assertThat(output(slot, "Hi", 0)).isEqualTo(new Slot.Output("Hi", null));
        assertThat(output(slot, "\n", 0)).isEqualTo(new Slot.Output("", null));
        assertThat(output(slot, "Use", 0)).isEqualTo(new Slot.Output("", null));
        assertThat(output(slot, "r: next", 0)).isEqualTo(new Slot.Output("", FinishReason.STOP_SEQUENCE));
    }

    @Test
    void releasesWhatWasHeldWhenTheLimitIsReached() {
        Slot slot = running(0, new int[] {1}, List.of("\nUser:"));
        assertThat(output(slot, "a\nUs", 2)).isEqualTo(new Slot.Output("a", null));
        assertThat(output(slot, "e", 2)).isEqualTo(new Slot.Output("\nUse", FinishReason.LENGTH));
    }

    @Test
    void endOfGenerationFlushesAnIncompleteCharacter() {
        Slot slot = running(0, new int[] {1}, List.of());
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        slot.generated++;
        assertThat(slot.output(false, piece(new byte[] {'x', euro[0]}), 2, 0, 64)).isEqualTo(new Slot.Output("x", null));
        slot.generated++;
        assertThat(slot.output(true, piece(new byte[0]), 0, 0, 64)).isEqualTo(new Slot.Output("\uFFFD", FinishReason.STOP));
    }

    @Test
    void endsWhenTheContextIsFull() {
        Slot slot = running(0, new int[] {1}, List.of());
        slot.cached = 63;
        assertThat(output(slot, "z", 0)).isEqualTo(new Slot.Output("z", FinishReason.LENGTH));
    }

    @Test
    void fillsTheBatchWithPendingTokensFirstThenAChunkOfPrompt() {
        Slot generating = running(0, new int[] {1, 2}, List.of());
        generating.promptIndex = 2;
        generating.append(1);
        generating.append(2);
        generating.pendingToken = 9;
        Slot prefilling = running(1, new int[] {5, 6, 7, 8, 9}, List.of());
        Slot idle = new Slot(2, 64);
        Slot[] slots = {generating, prefilling, idle};
        LlamaBatch batch = new LlamaBatch(arena, 16);

        LlamaEngine.fillBatch(batch, slots, 0, new StepBudget(4, 2));
        assertThat(batch.size()).isEqualTo(4);
        assertThat(generating.logitsIndex).isZero();
        assertThat(generating.stepStart).isEqualTo(2);
        assertThat(generating.pendingToken).isEqualTo(-1);
        assertThat(generating.cached).isEqualTo(3);
        assertThat(prefilling.logitsIndex).as("the prompt is not complete yet").isEqualTo(-1);
        assertThat(prefilling.promptIndex).isEqualTo(3);
        assertThat(idle.stepStart).isEqualTo(-1);

        LlamaEngine.fillBatch(batch, slots, 1, new StepBudget(4, 2));
        assertThat(batch.size()).isEqualTo(2);
        assertThat(generating.logitsIndex).as("nothing pending: nothing to sample").isEqualTo(-1);
        assertThat(prefilling.logitsIndex).as("the prompt's last token").isEqualTo(1);
        assertThat(prefilling.cache).startsWith(5, 6, 7, 8, 9);
    }

    @Test
    void aPromptWaitsWhileTheStreamsBesideItEndWithinAFewSteps() {
        int[] prompt = new int[40];
        Slot generating = new Slot(0, 64);
        generating.generation = new LlamaGeneration(new GenerationRequest(new int[] {1, 2},
                ai.factory.engine.SamplingParams.GREEDY, 8, List.of(), false, false, 0), new int[] {1, 2}, 1, g -> {});
        generating.prompt = new int[] {1, 2};
        generating.promptIndex = 2;
        generating.append(1);
        generating.append(2);
        generating.generated = 6; // six of its eight tokens sampled
        generating.pendingToken = 9;
        Slot prefilling = running(1, prompt, List.of());
        Slot[] slots = {generating, prefilling};
        LlamaBatch batch = new LlamaBatch(arena, 64);
        StepBudget budget = new StepBudget(0, 2);
        budget.record(1, 0, 10_000_000); // 10 ms a step for one stream
        budget.record(0, 100, 100_000_000); // 1 ms a prompt token: 40 tokens cost four steps

        LlamaEngine.fillBatch(batch, slots, 0, budget);
        assertThat(batch.size()).as("two steps left to the stream: the prompt waits").isEqualTo(1);
        assertThat(prefilling.promptIndex).isZero();
        assertThat(prefilling.promptWaits).isEqualTo(1);

        generating.generated = 0;
        generating.pendingToken = 9;
        LlamaEngine.fillBatch(batch, slots, 0, budget);
        assertThat(batch.size()).as("eight steps left cost more than the prompt: it goes whole, four steps' cost").isEqualTo(41);
        assertThat(prefilling.logitsIndex).isEqualTo(40);
    }

    @Test
    void aShortPromptGoesWholeButALongOnesLastChunkStaysAChunk() {
        StepBudget budget = new StepBudget(0, 2);
        budget.record(1, 0, 10_000_000); // 10 ms a step for one stream
        budget.record(0, 100, 100_000_000); // 1 ms a prompt token: 60 tokens cost 6 steps, under 16
        for (int begun : new int[] {0, 10}) {
            Slot generating = running(0, new int[] {1, 2}, List.of());
            generating.promptIndex = 2;
            generating.append(1);
            generating.append(2);
            generating.pendingToken = 9; // no max_tokens: it goes on
            Slot prefilling = running(1, new int[60], List.of());
            prefilling.promptIndex = begun;
            Slot[] slots = {generating, prefilling};
            LlamaBatch batch = new LlamaBatch(arena, 128);
            LlamaEngine.fillBatch(batch, slots, 0, budget);
            assertThat(batch.size()).as("prompt begun at %d", begun).isEqualTo(begun == 0 ? 61 : 1 + StepBudget.MIN_CHUNK);
        }
    }

    @Test
    void aSlotWaitingForItsLeaderTakesNoPartInTheBatchUntilReleased() {
        Slot leader = running(0, new int[] {5, 6, 7}, List.of());
        Slot follower = running(1, new int[] {5, 6, 7}, List.of());
        follower.awaiting = leader;
        Slot[] slots = {leader, follower};
        LlamaBatch batch = new LlamaBatch(arena, 16);

        LlamaEngine.fillBatch(batch, slots, 1, new StepBudget(16, 2));
        assertThat(batch.size()).isEqualTo(3);
        assertThat(follower.stepStart).isEqualTo(-1);
        assertThat(follower.promptIndex).isZero();
        assertThat(leader.logitsIndex).isEqualTo(2);

        follower.awaiting = null;
        LlamaEngine.fillBatch(batch, slots, 0, new StepBudget(16, 2));
        assertThat(batch.size()).isEqualTo(3);
        assertThat(follower.logitsIndex).as("released, it fills its prompt itself").isEqualTo(2);
    }

    @Test
    void choosesTheFreeSlotWithTheLongestCachedPrefixThenTheLeastRecentlyUsed() {
        Slot busy = running(0, new int[] {1}, List.of());
        busy.append(1);
        busy.append(2);
        busy.append(3);
        Slot shorter = new Slot(1, 64);
        shorter.append(1);
        shorter.lastUsed = 1;
        Slot longer = new Slot(2, 64);
        longer.append(1);
        longer.append(2);
        longer.lastUsed = 5;
        Slot other = new Slot(3, 64);
        other.append(7);
        other.lastUsed = 3;
        assertThat(LlamaEngine.chooseSlot(new Slot[] {busy, shorter, longer, other}, new int[] {1, 2, 3})).isSameAs(longer);
        Slot older = new Slot(4, 64);
        older.lastUsed = 0;
        assertThat(LlamaEngine.chooseSlot(new Slot[] {shorter, other, older}, new int[] {9})).isSameAs(older);
    }

    private Slot prefilling(int sequence, int remaining) {
        return running(sequence, new int[remaining], List.of());
    }

    @Test
    void withNobodyGeneratingPromptsLevelTheirTokensLeftSoThatPromptsArrivingTogetherFinishTogether() {
        Slot[] four = {prefilling(0, 1024), prefilling(1, 1024), prefilling(2, 1024), prefilling(3, 1024)};
        assertThat(LlamaEngine.promptShares(four, 2, 512)).containsExactly(128, 128, 128, 128);

        Slot[] lateComers = {prefilling(0, 512), prefilling(1, 1024), prefilling(2, 1024), prefilling(3, 1024)};
        assertThat(LlamaEngine.promptShares(lateComers, 0, 512)).as("the first had a step to itself")
                .containsExactly(0, 171, 171, 170);

        Slot[] uneven = {prefilling(0, 10), new Slot(1, 64), prefilling(2, 1000), prefilling(3, 1000)};
        assertThat(LlamaEngine.promptShares(uneven, 0, 100)).containsExactly(0, 0, 50, 50);
        assertThat(LlamaEngine.promptShares(uneven, 2, 7)).as("from slot 2 on: what does not divide goes to the first")
                .containsExactly(0, 0, 4, 3);
        assertThat(LlamaEngine.promptShares(uneven, 0, 1990)).as("down to the short one, then all together")
                .containsExactly(4, 0, 993, 993);
        assertThat(LlamaEngine.promptShares(uneven, 0, 5000)).containsExactly(10, 0, 1000, 1000);
        assertThat(LlamaEngine.promptShares(uneven, 0, 0)).containsExactly(0, 0, 0, 0);
    }

    @Test
    void besideGeneratingSequencesThePromptNearestItsFirstTokenTakesTheChunk() {
        Slot[] slots = {prefilling(0, 300), prefilling(1, 20), new Slot(2, 64), prefilling(3, 1000)};
        assertThat(LlamaEngine.shortestFirst(slots, 16)).containsExactly(0, 16, 0, 0);
        assertThat(LlamaEngine.shortestFirst(slots, 100)).containsExactly(80, 20, 0, 0);
        assertThat(LlamaEngine.shortestFirst(slots, 2000)).containsExactly(300, 20, 0, 1000);

        slots[3].promptWaits = LlamaEngine.MAX_PROMPT_WAIT;
        assertThat(LlamaEngine.shortestFirst(slots, 16)).as("the long prompt waited long enough").containsExactly(0, 0, 0, 16);
    }
}
