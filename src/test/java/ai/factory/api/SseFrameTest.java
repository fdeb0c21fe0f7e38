package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bytes of an SSE frame as {@link SseStream} writes them; its use on a live stream is in the API tests. */
class SseFrameTest {
    @Test
    void writesOneFramePerEventAndLeavesTheStreamOpen() throws IOException {
        var closed = new boolean[1];
        var out = new ByteArrayOutputStream() {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        Map<String, Object> first = new LinkedHashMap<>();
        first.put("content", "h\u00e9 \"x\"\n");
        first.put("finish_reason", null);
        SseStream.writeFrame(out, first);
        SseStream.writeFrame(out, Map.of("n", 2));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo("data: {\"content\":\"h\u00e9 \\\"x\\\"\\n\",\"finish_reason\":null}\n\ndata: {\"n\":2}\n\n");
        assertThat(closed[0]).isFalse();
    }

    @Test
    void aFailingStreamSurfacesAsAnIoExceptionNotAsASerialisationError() {
        // The prefix goes through; the connection drops while the JSON is written.
        OutputStream gone = new OutputStream() {
            private int written;

            @Override
            public void write(int b) throws IOException {
                if (++written > "data: ".length()) {
                    throw new IOException("connection reset");
                }
            }
        };
        assertThatThrownBy(() -> SseStream.writeFrame(gone, Map.of("n", 1)))
                .isInstanceOf(IOException.class).hasMessage("connection reset");
    }

    @Test
    void anEventJacksonCannotWriteIsAnIllegalState() {
        assertThatThrownBy(() -> SseStream.writeFrame(new ByteArrayOutputStream(), new Object()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not serialisable");
    }
}
