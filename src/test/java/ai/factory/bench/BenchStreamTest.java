package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Parsing one request's server-sent events, with arrival times given in milliseconds after the start (t = 0). */
class BenchStreamTest {
    private static final long MS = 1_000_000;

    private final SseAccumulator stream = new SseAccumulator(1_000 * MS);

    private void at(long ms, String... lines) {
        for (String line : lines) {
            stream.line(line, (1_000 + ms) * MS);
        }
    }

    private static String text(String text) {
        return "data: {\"choices\":[{\"index\":0,\"text\":\"" + text + "\",\"finish_reason\":null}]}";
    }

    @Test
    void measuresTtftItlTpotAndTakesTokensFromUsage() {
        at(5, ": keep-alive", "");
        at(40, text("Hello"), "");
        at(50, text(""), ""); // an empty event (a partial UTF-8 character) is no token event
        at(60, text(" wor"), "");
        at(90, text("ld"), "");
        at(95, "data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}", "");
        at(96, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}", "");
        at(100, "data: [DONE]", "");

        RequestResult result = stream.finish(1_200 * MS);
        assertThat(result.succeeded()).isTrue();
        assertThat(result.ttftMs()).isCloseTo(40, within(1e-9));
        assertThat(result.e2eMs()).as("ends at [DONE], not when the connection closed").isCloseTo(100, within(1e-9));
        assertThat(result.itlMs()).containsExactly(20, 30);
        assertThat(result.outputTokens()).isEqualTo(4);
        assertThat(result.tpotMs()).isCloseTo(20, within(1e-9)); // (100 - 40) / (4 - 1)
    }

    @Test
    void countsTokenEventsWithoutUsageAndReadsChatDeltas() {
        at(10, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}", "");
        at(20, "event: message", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}", "");
        at(25, "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"}}]}", "");
        at(30, "data: [DONE]", "");

        RequestResult result = stream.finish((1_000 + 30) * MS);
        assertThat(result.outputTokens()).isEqualTo(2);
        assertThat(result.ttftMs()).isCloseTo(20, within(1e-9));
        assertThat(result.itlMs()).containsExactly(5);
    }

    @Test
    void joinsMultiLineDataAndTimesTheEventByItsFirstLine() {
        at(10, "data: {\"choices\":[{\"index\":0,");
        at(12, "data: \"text\":\"x\"}]}", "");
        at(20, "data: [DONE]");
        RequestResult result = stream.finish((1_000 + 21) * MS);
        assertThat(result.ttftMs()).isCloseTo(10, within(1e-9));
        assertThat(result.outputTokens()).isEqualTo(1);
        assertThat(result.tpotMs()).isNaN();
    }

    @Test
    void anErrorEventFailsTheRequest() {
        at(10, text("a"), "");
        at(20, "data: {\"error\":{\"message\":\"the engine failed\",\"type\":\"server_error\"}}", "");
        at(30, "data: [DONE]", "");
        assertThat(stream.finish((1_000 + 30) * MS).error()).isEqualTo("stream_error");
    }

    @Test
    void aStreamWithoutDoneIsTruncated() {
        at(10, text("a"), "");
        RequestResult result = stream.finish((1_000 + 50) * MS);
        assertThat(result.error()).isEqualTo("truncated_stream");
        assertThat(result.e2eMs()).isCloseTo(50, within(1e-9));
    }

    @Test
    void garbageIsABadEvent() {
        at(10, "data: {not json", "");
        assertThat(stream.finish((1_000 + 10) * MS).error()).isEqualTo("bad_event");
    }
}
