package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.engine.GenerationRequest;
import ai.factory.engine.Priority;
import ai.factory.engine.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The order in which waiting generations take slots: interactive first, batch never starved, the last slot kept. */
class WaitingQueueTest {
    private static LlamaGeneration generation(Priority priority) {
        return new LlamaGeneration(new GenerationRequest(new int[] {1, 2}, SamplingParams.GREEDY, 1, List.of(), false,
                false, 0, null, false, java.util.Map.of(), priority), new int[] {1, 2}, 0, g -> { });
    }

    @Test
    void interactiveGenerationsGoFirstInTheOrderTheyCame() {
        WaitingQueue queue = new WaitingQueue(8);
        LlamaGeneration b1 = generation(Priority.BATCH);
        LlamaGeneration i1 = generation(Priority.INTERACTIVE);
        LlamaGeneration i2 = generation(Priority.INTERACTIVE);
        LlamaGeneration b2 = generation(Priority.BATCH);
        queue.addAll(List.of(b1, i1));
        queue.addAll(List.of(i2, b2));
        assertThat(queue.size()).isEqualTo(4);
        assertThat(queue.remainingCapacity()).isEqualTo(4);
        assertThat(queue.poll(false)).isSameAs(i1);
        assertThat(queue.poll(false)).isSameAs(i2);
        assertThat(queue.poll(false)).isSameAs(b1);
        assertThat(queue.poll(false)).isSameAs(b2);
        assertThat(queue.poll(false)).isNull();
    }

    @Test
    void batchLeavesTheLastFreeSlotToInteractiveCallsUntilItHasAged() {
        WaitingQueue queue = new WaitingQueue(64);
        LlamaGeneration batch = generation(Priority.BATCH);
        queue.addAll(List.of(batch));
        assertThat(queue.poll(true)).as("the last slot is kept for interactive calls").isNull();
        List<LlamaGeneration> interactive = new ArrayList<>();
        for (int i = 0; i < WaitingQueue.AGING + 2; i++) {
            interactive.add(generation(Priority.INTERACTIVE));
        }
        queue.addAll(interactive);
        for (int i = 0; i < WaitingQueue.AGING; i++) {
            assertThat(queue.poll(i % 2 == 0)).isSameAs(interactive.get(i));
        }
        // Passed over AGING times: it goes next, even into the last slot and before the interactive ones left.
        assertThat(queue.poll(true)).isSameAs(batch);
        assertThat(queue.poll(true)).isSameAs(interactive.get(WaitingQueue.AGING));
    }

    @Test
    void removedAndDrainedGenerationsLeaveTheQueue() {
        WaitingQueue queue = new WaitingQueue(4);
        LlamaGeneration b = generation(Priority.BATCH);
        LlamaGeneration i = generation(Priority.INTERACTIVE);
        queue.addAll(List.of(b, i));
        assertThat(queue.remove(b)).isTrue();
        assertThat(queue.remove(b)).isFalse();
        List<LlamaGeneration> left = new ArrayList<>();
        queue.drainTo(left);
        assertThat(left).containsExactly(i);
        assertThat(queue.size()).isZero();
    }
}
