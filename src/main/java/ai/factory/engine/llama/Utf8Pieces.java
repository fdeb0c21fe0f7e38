package ai.factory.engine.llama;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns token pieces (raw bytes; a multi-byte character may be split over several tokens) into text
 * without ever emitting half a character: an incomplete UTF-8 sequence at the end is held until the next
 * piece completes it. Bytes that can never form a character become U+FFFD, exactly as decoding the whole
 * byte stream at once would: pieces are only cut before a lead byte, where a decoder starts afresh anyway.
 * Single-threaded: one instance per generation.
 */
final class Utf8Pieces {
    private byte[] bytes = new byte[64];
    private int length;

    /** Takes {@code count} bytes of {@code piece}; returns the complete characters now available. */
    String append(MemorySegment piece, int count) {
        ensureCapacity(length + count);
        MemorySegment.copy(piece, ValueLayout.JAVA_BYTE, 0, bytes, length, count);
        length += count;
        return take(completeLength());
    }

    /** As {@link #append(MemorySegment, int)}, from a Java array. */
    String append(byte[] piece) {
        ensureCapacity(length + piece.length);
        System.arraycopy(piece, 0, bytes, length, piece.length);
        length += piece.length;
        return take(completeLength());
    }

    /** Whatever is held, incomplete sequences as U+FFFD: for the end of a generation. */
    String flush() {
        return take(length);
    }

    private int completeLength() {
        // A character is at most 4 bytes: look back for the last lead byte among the final 3.
        for (int i = length - 1; i >= Math.max(0, length - 3); i--) {
            int b = bytes[i] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // a continuation byte
            }
            int needed = b >= 0xF0 && b <= 0xF7 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (b >= 0xF8) {
                needed = 1; // never valid: nothing to wait for
            }
            return length - i < needed ? i : length;
        }
        return length;
    }

    private String take(int count) {
        if (count == 0) {
            return "";
        }
        String text = new String(bytes, 0, count, StandardCharsets.UTF_8);
        System.arraycopy(bytes, count, bytes, 0, length - count);
        length -= count;
        return text;
    }

    private void ensureCapacity(int capacity) {
        if (capacity > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(capacity, bytes.length * 2));
        }
    }
}
