package ai.factory.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The control plane's view of what a worker's replica holds in its cache: the conversation affinity of workers. */
class RecentSequencesTest {
    private static int[] range(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    @Test
    void aNextTurnMatchesThePromptAndTheAnswerBeforeIt() {
        RecentSequences recent = new RecentSequences(4);
        RecentSequences.Sequence first = recent.start(range(0, 100));
        for (int t = 100; t < 140; t++) {
            first.append(t); // the answer, as its tokens came
        }
        assertThat(recent.longestPrefix(range(0, 200))).as("turn 2: turn 1 and its answer, then new text")
                .isEqualTo(140);
        assertThat(recent.longestPrefix(range(0, 50))).as("a prompt shorter than what is held").isEqualTo(50);
        assertThat(recent.longestPrefix(new int[] {7, 1, 2})).as("another conversation").isZero();
        assertThat(recent.longestPrefix(new int[0])).isZero();
    }

    @Test
    void theOldestAreForgottenBeyondTheCapacityAndAllWhenTheReplicaMoves() {
        RecentSequences recent = new RecentSequences(2);
        recent.start(range(0, 40));
        recent.start(range(1000, 1040));
        recent.start(range(2000, 2040));
        assertThat(recent.longestPrefix(range(0, 40))).as("pushed out").isZero();
        assertThat(recent.longestPrefix(range(2000, 2040))).isEqualTo(40);
        recent.clear();
        assertThat(recent.longestPrefix(range(2000, 2040))).isZero();
        assertThatThrownBy(() -> new RecentSequences(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSequenceIsKeptNoLongerThanTheLimit() {
        RecentSequences recent = new RecentSequences(1);
        RecentSequences.Sequence s = recent.start(range(0, RecentSequences.MAX_TOKENS + 10));
        s.append(5);
        assertThat(recent.longestPrefix(range(0, RecentSequences.MAX_TOKENS + 10)))
                .isEqualTo(RecentSequences.MAX_TOKENS);
    }
}
