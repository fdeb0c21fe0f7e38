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
    void aPromptThatCostsAFewStepsIsTakenWholeALongerOneInChunks() {
        StepBudget budget = measured();
        // 200 ms a step for four sequences, 2 ms a prompt token: chunks of 100 at cost 2, whole up to 16 steps (3.2 s).
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(300, 300, 64))).isEqualTo(300);
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(1_600, 1_600, 64))).isEqualTo(508);
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(1_601, 1_601, 64)))
                .as("over 16 steps' cost: chunked").isEqualTo(100);
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(80, 1_500, 64)))
                .as("the chunk covers the shortest prompt already").isEqualTo(100);
        assertThat(new StepBudget(16, 2).promptTokens(4, 508, new StepBudget.Waiting(300, 300, 64)))
                .as("a fixed budget stays fixed").isEqualTo(12);
    }

    @Test
    void promptsWaitForStreamsThatEndWithinAFewStepsWhenWaitingCostsLessThanComputingThem() {
        StepBudget budget = measured();
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(150, 300, 3)))
                .as("3 steps (600 ms) against 300 prompt tokens (600 ms)").isZero();
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(150, 300, 0)))
                .as("the streams end with this step").isZero();
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(50, 50, 3)))
                .as("a short prompt costs less than the wait: taken now").isEqualTo(100);
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(1_500, 3_000, StepBudget.WHOLE_COST)))
                .as("16 steps (3.2 s) against 3,000 prompt tokens (6 s): waiting is cheaper").isZero();
        assertThat(budget.promptTokens(4, 508, new StepBudget.Waiting(1_500, 3_000, StepBudget.WHOLE_COST + 1)))
                .as("streams that go on longer do not hold prompts back").isEqualTo(508);
        assertThat(new StepBudget(0, 2).promptTokens(4, 508, new StepBudget.Waiting(300, 300, 1)))
                .as("nothing measured: nothing to weigh").isEqualTo(StepBudget.FIRST_CHUNK);
    }

    /** A budget of cost 2 that has measured 200 ms steps for four generating sequences and 2 ms a prompt token. */
    private static StepBudget measured() {
        StepBudget budget = new StepBudget(0, 2);
        budget.record(4, 0, 200_000_000);
        budget.record(0, 500, 1_000_000_000);
        return budget;
    }

    @Test
    void refusesABudgetThatCannotWork() {
        assertThatThrownBy(() -> new StepBudget(-1, 2)).hasMessageContaining("stepTokens");
        assertThatThrownBy(() -> new StepBudget(0, 1)).hasMessageContaining("cost must be more than 1");
    }
}
