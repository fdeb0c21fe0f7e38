package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {
    @Test
    void passesTextThroughWhenThereAreNoStops() {
        StopStrings stops = new StopStrings(List.of());
        assertThat(stops.append("Hello")).isEqualTo("Hello");
        assertThat(stops.append(" world")).isEqualTo(" world");
        assertThat(stops.stopped()).isFalse();
    }

    @Test
    void holdsBackAPartialMatchUntilItCannotBeAStop() {
        StopStrings stops = new StopStrings(List.of("</end>"));
        assertThat(stops.append("abc</e")).isEqualTo("abc");
        assertThat(stops.append("x")).isEqualTo("</ex");
        assertThat(stops.stopped()).isFalse();
    }

    @Test
    void dropsTheStopAndEverythingAfterIt() {
        StopStrings stops = new StopStrings(List.of("STOP"));
        assertThat(stops.append("one STOP two")).isEqualTo("one ");
        assertThat(stops.stopped()).isTrue();
        assertThat(stops.append("three")).isEmpty();
        assertThat(stops.flush()).isEmpty();
    }

    @Test
    void findsAStopSpanningSeveralPieces() {
        StopStrings stops = new StopStrings(List.of("###"));
        StringBuilder out = new StringBuilder();
        for (String piece : List.of("a#", "#", "#b")) {
            out.append(stops.append(piece));
        }
        assertThat(out).hasToString("a");
        assertThat(stops.stopped()).isTrue();
    }

    @Test
    void endsAtTheEarliestOfSeveralStops() {
        StopStrings stops = new StopStrings(List.of("world", "lo w"));
        assertThat(stops.append("hello world")).isEqualTo("hel");
        assertThat(stops.stopped()).isTrue();
    }

    @Test
    void holdsTheLongestPossibleStartAmongSeveralStops() {
        StopStrings stops = new StopStrings(List.of("ab", "xyzab"));
        assertThat(stops.append("..xyza")).isEqualTo("..");
        assertThat(stops.append("q")).isEqualTo("xyzaq");
    }

    @Test
    void flushReleasesHeldTextWhenTheGenerationEndsOtherwise() {
        StopStrings stops = new StopStrings(List.of("END"));
        assertThat(stops.append("the EN")).isEqualTo("the ");
        assertThat(stops.flush()).isEqualTo("EN");
    }

    @Test
    void matchesUnicodeStopsAndNeverSplitsASurrogatePair() {
        StopStrings stops = new StopStrings(List.of("😀!", "ß"));
        assertThat(stops.append("grüße")).isEqualTo("grü");
        assertThat(stops.stopped()).isTrue();

        StopStrings emoji = new StopStrings(List.of("😀!"));
        assertThat(emoji.append("a😀")).isEqualTo("a");
        assertThat(emoji.append("😀")).isEqualTo("😀");
        assertThat(emoji.append("!")).isEmpty();
        assertThat(emoji.stopped()).isTrue();
    }

    @Test
    void refusesAnEmptyStop() {
        assertThatThrownBy(() -> new StopStrings(List.of(""))).isInstanceOf(IllegalArgumentException.class);
    }
}
