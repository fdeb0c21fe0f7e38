package ai.factory.models.gguf;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;

/**
 * Little-endian reads from the start of a GGUF file towards its end, through one small buffer,
 * that never go past the end: every read first checks the bytes it needs against the bytes
 * left and reports a shortfall as a truncated file. Callers therefore check a length taken
 * from the file with {@link #require} before allocating anything for it, so a corrupt length
 * becomes a {@link GgufFormatException}, never an allocation. Offsets are {@code long}s, so
 * files of any size are read the same way, without mapping or loading them whole.
 */
final class GgufInput {
    private static final int BUFFER_SIZE = 64 * 1024;

    private final SeekableByteChannel channel;
    private final long size;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    // The buffer holds the file's bytes [bufferStart, bufferStart + buffer.limit()).
    private long bufferStart;
    private long position;

    GgufInput(SeekableByteChannel channel, long size) {
        this.channel = requireNonNull(channel, "channel is null");
        if (size < 0) {
            throw new IllegalArgumentException("size is negative: " + size);
        }
        this.size = size;
        buffer.limit(0);
    }

    long position() {
        return position;
    }

    long size() {
        return size;
    }

    long remaining() {
        return size - position;
    }

    /**
     * Fails unless {@code bytes} more bytes remain. A negative count is an unsigned 64-bit
     * length of 2^63 or more, which no file holds.
     */
    void require(long bytes, String what) {
        if (bytes < 0 || bytes > size - position) {
            throw truncated(what, bytes);
        }
    }

    /** The error for {@code what} needing {@code bytes} (unsigned) at the current position. */
    GgufFormatException truncated(String what, long bytes) {
        return new GgufFormatException("truncated GGUF: %s needs %s bytes at offset %d but the file has %d"
                .formatted(what, Long.toUnsignedString(bytes), position, size));
    }

    byte readByte(String what) throws IOException {
        fill(Byte.BYTES, what);
        byte value = buffer.get(index());
        position += Byte.BYTES;
        return value;
    }

    short readShort(String what) throws IOException {
        fill(Short.BYTES, what);
        short value = buffer.getShort(index());
        position += Short.BYTES;
        return value;
    }

    int readInt(String what) throws IOException {
        fill(Integer.BYTES, what);
        int value = buffer.getInt(index());
        position += Integer.BYTES;
        return value;
    }

    long readLong(String what) throws IOException {
        fill(Long.BYTES, what);
        long value = buffer.getLong(index());
        position += Long.BYTES;
        return value;
    }

    /** Reads {@code count} bytes; the caller has bounded {@code count} by a cap of its own. */
    byte[] readBytes(int count, String what) throws IOException {
        require(count, what);
        byte[] bytes = new byte[count];
        if (count <= BUFFER_SIZE) {
            fill(count, what);
            buffer.get(index(), bytes);
        } else {
            readFully(ByteBuffer.wrap(bytes), position, what);
        }
        position += count;
        return bytes;
    }

    void skip(long bytes, String what) {
        require(bytes, what);
        position += bytes;
    }

    private int index() {
        return (int) (position - bufferStart);
    }

    private void fill(int bytes, String what) throws IOException {
        require(bytes, what);
        if (position >= bufferStart && position + bytes <= bufferStart + buffer.limit()) {
            return;
        }
        buffer.clear();
        buffer.limit((int) Math.min(BUFFER_SIZE, size - position));
        bufferStart = position;
        readFully(buffer, position, what);
    }

    private void readFully(ByteBuffer target, long at, String what) throws IOException {
        channel.position(at);
        while (target.hasRemaining()) {
            if (channel.read(target) < 0) {
                // The size was taken when reading began; the file has shrunk since.
                buffer.limit(0);
                throw new GgufFormatException(
                        "truncated GGUF: the file ended at byte %d while reading %s, though it had %d bytes when reading began"
                                .formatted(channel.position(), what, size));
            }
        }
    }
}
