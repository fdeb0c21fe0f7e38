package ai.factory.inference;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.inference.EmbeddingCall.Truncation;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

class EmbeddingCallTest {
    /** A stand-in tokenizer: one token per code point that is not a space, plus the two special tokens. */
    private static final ToIntFunction<String> TOKENS = s -> (int) s.codePoints().filter(c -> c != ' ').count() + 2;

    @Test
    void aTextThatFitsIsKeptWhole() {
        for (Truncation t : Truncation.values()) {
            assertThat(t.fit("a b c", 5, TOKENS)).isEqualTo("a b c");
        }
    }

    @Test
    void noneLeavesALongTextToTheModelWithoutCountingIt() {
        AtomicInteger counted = new AtomicInteger();
        assertThat(Truncation.NONE.fit("a b c d e f", 4, s -> counted.incrementAndGet())).isEqualTo("a b c d e f");
        assertThat(counted).hasValue(0);
    }

    @Test
    void endKeepsTheLongestBeginningThatFits() {
        assertThat(Truncation.END.fit("a b c d e f", 5, TOKENS)).isEqualTo("a b c ");
    }

    @Test
    void startKeepsTheLongestEndThatFits() {
        assertThat(Truncation.START.fit("a b c d e f", 5, TOKENS)).isEqualTo(" d e f");
    }

    @Test
    void cutsFallBetweenCodePoints() {
        String faces = "😀😃😄😁😆";
        assertThat(Truncation.END.fit(faces, 4, TOKENS)).isEqualTo("😀😃");
        assertThat(Truncation.START.fit(faces, 4, TOKENS)).isEqualTo("😁😆");
    }
}
