package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Utf8PiecesTest {
    @Test
    void holdsASplitCharacterUntilItIsComplete() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        Utf8Pieces pieces = new Utf8Pieces();
        assertThat(pieces.append(new byte[] {'a', euro[0]})).isEqualTo("a");
        assertThat(pieces.append(new byte[] {euro[1]})).isEmpty();
        assertThat(pieces.append(new byte[] {euro[2], 'b'})).isEqualTo("€b");
    }

    @Test
    void emitsAFourByteCharacterSplitOneByteAtATime() {
        byte[] emoji = "😀".getBytes(StandardCharsets.UTF_8);
        Utf8Pieces pieces = new Utf8Pieces();
        StringBuilder out = new StringBuilder();
        for (byte b : emoji) {
            out.append(pieces.append(new byte[] {b}));
        }
        assertThat(out).hasToString("😀");
    }

    @Test
    void decodesInvalidBytesAsTheWholeStreamWould() {
        byte[] stream = {'x', (byte) 0xE3, (byte) 0x81, 'y', (byte) 0xFF, (byte) 0x80, (byte) 0xC3};
        Utf8Pieces pieces = new Utf8Pieces();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < stream.length; i++) {
            out.append(pieces.append(Arrays.copyOfRange(stream, i, i + 1)));
        }
        out.append(pieces.flush());
        assertThat(out).hasToString(new String(stream, StandardCharsets.UTF_8));
    }
}
