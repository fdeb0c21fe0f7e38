package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The prompt tokens a step takes beside the generating sequences, fixed and measured. */
class StepBudgetTest {
    @Test
    void withNobodyGeneratingPromptsFillTheBatch() {
        assertThat(new StepBudget(16, 2).promptTokens(0, 512)).isEqualTo(512);
        assertThat(new StepBudget(0, 2).promptTokens(0, 300)).isEqualTo(300);
    }

    @Test
    void aFixedBudgetGivesPromptsWhatGeneratingSequencesLeaveAndAtLeastOne() {
        StepBudget budget = new StepBudget(16, 2);
        assertThat(budget.promptTokens(3, 509)).isEqualTo(13);
        assertThat(budget.promptTokens(16, 496)).isEqualTo(1);
        assertThat(budget.promptTokens(3, 5)).as("no more than the batch has room for").isEqualTo(5);
    }

    @Test
    void theMeasuredBudgetKeepsAStepWithinItsCostOfAStepWithoutPromptTokens() {
        StepBudget budget = new StepBudget(0, 2);
        assertThat(budget.promptTokens(4, 508)).as("nothing measured yet").isEqualTo(StepBudget.FIRST_CHUNK);

        budget.record(4, 0, 200_000_000);   // four sequences generating, no prompt: 200 ms
        budget.record(0, 500, 1_000_000_000); // prompts alone: 2 ms a token
        // One more step's worth (200 ms) of prompt tokens at 2 ms each.
        assertThat(budget.promptTokens(4, 508)).isEqualTo(100);

        budget.record(4, 100, 400_000_000); // as predicted: nothing changes
        assertThat(budget.promptTokens(4, 508)).isEqualTo(100);
        budget.record(4, 100, 1_000_000_000); // prompt tokens turned out dearer beside generating ones: weighted in
        assertThat(budget.promptNanosPerToken()).isEqualTo(2_000_000 + 0.2 * 6_000_000);
        assertThat(budget.promptTokens(4, 508)).isEqualTo((int) (200_000_000 / 3_200_000.0));
    }

    @Test
    void aStepWithoutPromptTokensIsMeasuredForEachNumberOfGeneratingSequences() {
        StepBudget budget = new StepBudget(0, 2);
        budget.record(1, 0, 30_000_000);
        budget.record(4, 0, 120_000_000);
        budget.record(0, 512, 1_024_000_000); // 2 ms a prompt token
        assertThat(budget.promptTokens(1, 511)).isEqualTo(StepBudget.MIN_CHUNK);
        assertThat(budget.promptTokens(4, 508)).isEqualTo(60);
        assertThat(budget.decodeNanos(2)).as("the nearest measured, below before above").isEqualTo(30_000_000);
        assertThat(budget.decodeNanos(3)).isEqualTo(120_000_000);
        assertThat(budget.decodeNanos(8)).isEqualTo(120_000_000);
    }

    @Test
    void aQuickMixedStepNeverMakesPromptTokensLookFree() {
        StepBudget budget = new StepBudget(0, 2);
        budget.record(4, 0, 200_000_000);
        budget.record(0, 512, 1_024_000_000); // 2 ms a prompt token alone
        for (int i = 0; i < 20; i++) {
            // Mixed steps quicker than a step without prompt tokens (the machine got quieter): no cost seen at all.
            budget.record(4, 20, 150_000_000);
        }
        assertThat(budget.promptNanosPerToken()).isEqualTo(2_000_000);
        assertThat(budget.promptTokens(4, 508)).isEqualTo(100);
    }

    @Test
    void theMeasuredBudgetNeverFallsBelowItsFloorNorAboveTheRoom() {
        StepBudget budget = new StepBudget(0, 2);
        budget.record(8, 0, 10_000_000);
        budget.record(0, 10, 1_000_000_000); // 100 ms a prompt token against a 10 ms step
        assertThat(budget.promptTokens(8, 504)).isEqualTo(StepBudget.MIN_CHUNK);

        StepBudget cheap = new StepBudget(0, 2);
        cheap.record(1, 0, 50_000_000);
        cheap.record(0, 512, 512_000); // 1 µs a token (a GPU)
        assertThat(cheap.promptTokens(1, 511)).isEqualTo(511);
    }

    @Test
    void refusesABudgetThatCannotWork() {
        assertThatThrownBy(() -> new StepBudget(-1, 2)).hasMessageContaining("stepTokens");
        assertThatThrownBy(() -> new StepBudget(0, 1)).hasMessageContaining("cost must be more than 1");
    }
}
