package ai.factory.models.gguf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a GGUF v3 file (the layout {@link GgufReader} documents) in one pass: metadata and tensor
 * infos are declared first, then {@link #write} streams the header and asks a {@link TensorContent}
 * for each tensor's bytes one chunk at a time, so a file of any size takes a megabyte of memory.
 * Metadata entries can be copied byte for byte from another GGUF file ({@link #copy}), which is how a
 * 128,000-token vocabulary moves without being decoded. Tensors are laid out at offsets aligned to 32
 * bytes, ggml's default alignment.
 */
public final class GgufWriter {
    private static final int VERSION = 3;
    private static final long ALIGNMENT = GgufReader.DEFAULT_ALIGNMENT;
    private static final int CHUNK_BYTES = 1 << 20;

    /** The bytes of one tensor, produced a chunk at a time. */
    @FunctionalInterface
    public interface TensorContent {
        /**
         * Fills {@code chunk} to its limit with the bytes of {@code tensor} that start {@code offset}
         * bytes into it. A chunk always holds whole blocks of the tensor's type.
         */
        void fill(TensorInfo tensor, long offset, ByteBuffer chunk);
    }

    private sealed interface Entry {
        String key();
    }

    private record Encoded(String key, byte[] value) implements Entry {}

    private record Copied(String key, Path source, GgufEntry entry) implements Entry {}

    private final List<Entry> entries = new ArrayList<>();
    private final List<TensorInfo> tensors = new ArrayList<>();
    private final Set<String> keys = new HashSet<>();
    private final Set<String> tensorNames = new HashSet<>();
    private long dataSize;

    public GgufWriter putString(String key, String value) {
        byte[] utf8 = requireNonNull(value, "value is null").getBytes(UTF_8);
        return put(key, value(GgufValueType.STRING, 8 + utf8.length).putLong(utf8.length).put(utf8));
    }

    public GgufWriter putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("%s = %d does not fit in a uint32".formatted(key, value));
        }
        return put(key, value(GgufValueType.UINT32, 4).putInt((int) value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, value(GgufValueType.FLOAT32, 4).putFloat(value));
    }

    /** Copies the entry {@code entry} of the GGUF file {@code source} (as {@link GgufReader#entries} found it) verbatim. */
    public GgufWriter copy(Path source, GgufEntry entry) {
        requireNonNull(source, "source is null");
        requireNonNull(entry, "entry is null");
        addKey(entry.key());
        entries.add(new Copied(entry.key(), source, entry));
        return this;
    }

    /**
     * Declares a tensor with ggml's dimension order (the row length first) and lays it out after the
     * previous one.
     */
    public TensorInfo addTensor(String name, GgmlType type, long... dimensions) {
        requireNonNull(name, "name is null");
        requireNonNull(type, "type is null");
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("tensor " + name + " is declared twice");
        }
        if (dimensions.length == 0 || dimensions.length > GgufReader.MAX_DIMS) {
            throw new IllegalArgumentException("tensor %s has %d dimensions; 1 to %d are allowed".formatted(name, dimensions.length, GgufReader.MAX_DIMS));
        }
        long elements = 1;
        for (long dimension : dimensions) {
            if (dimension <= 0) {
                throw new IllegalArgumentException("tensor %s has a dimension of %d".formatted(name, dimension));
            }
            elements = Math.multiplyExact(elements, dimension);
        }
        if (dimensions[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor %s has rows of %d elements, not a whole number of %d-element %s blocks"
                    .formatted(name, dimensions[0], type.blockSize(), type));
        }
        long offset = alignUp(dataSize);
        List<Long> dims = new ArrayList<>();
        for (long dimension : dimensions) {
            dims.add(dimension);
        }
        TensorInfo tensor = new TensorInfo(name, dims, type, offset, type.bytesFor(elements));
        dataSize = offset + tensor.sizeBytes();
        tensors.add(tensor);
        return tensor;
    }

    /** The bytes the file will take. */
    public long fileSize() throws IOException {
        return alignUp(headerSize()) + alignUp(dataSize);
    }

    /** Writes the file to {@code file}, replacing it, with tensor bytes from {@code content}. */
    public void write(Path file, TensorContent content) throws IOException {
        requireNonNull(file, "file is null");
        requireNonNull(content, "content is null");
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeHeader(out);
            long dataStart = out.position();
            ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (TensorInfo tensor : tensors) {
                out.position(dataStart + tensor.offset());
                int chunkBytes = CHUNK_BYTES / tensor.type().bytesPerBlock() * tensor.type().bytesPerBlock();
                for (long done = 0; done < tensor.sizeBytes(); ) {
                    chunk.clear().limit((int) Math.min(chunkBytes, tensor.sizeBytes() - done));
                    content.fill(tensor, done, chunk);
                    if (chunk.position() != chunk.limit()) {
                        throw new IllegalStateException("the content of tensor %s left %d bytes of a chunk unfilled"
                                .formatted(tensor.name(), chunk.remaining()));
                    }
                    done += chunk.limit();
                    writeFully(out, chunk.flip());
                }
            }
            long end = dataStart + alignUp(dataSize);
            if (out.size() < end) {
                writeFully(out.position(end - 1), ByteBuffer.allocate(1));
            }
        }
    }

    private void writeHeader(FileChannel out) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(Math.toIntExact(headerSize() - copiedBytes())).order(ByteOrder.LITTLE_ENDIAN);
        header.put(new byte[] {0x47, 0x47, 0x55, 0x46}).putInt(VERSION).putLong(tensors.size()).putLong(entries.size());
        for (Entry entry : entries) {
            putString(header, entry.key());
            switch (entry) {
                case Encoded encoded -> header.put(encoded.value());
                case Copied copied -> {
                    writeFully(out, header.flip());
                    header.clear();
                    copyValue(copied, out);
                }
            }
        }
        for (TensorInfo tensor : tensors) {
            putString(header, tensor.name());
            header.putInt(tensor.dimensions().size());
            tensor.dimensions().forEach(header::putLong);
            header.putInt(tensor.type().id()).putLong(tensor.offset());
        }
        writeFully(out, header.flip());
        out.position(alignUp(out.position()));
    }

    private static void copyValue(Copied copied, FileChannel out) throws IOException {
        try (FileChannel in = FileChannel.open(copied.source(), StandardOpenOption.READ)) {
            long position = copied.entry().offset();
            long end = position + copied.entry().length();
            if (end > in.size()) {
                throw new GgufFormatException("metadata %s of %s ends beyond the end of the file".formatted(copied.key(), copied.source()));
            }
            while (position < end) {
                long moved = in.transferTo(position, end - position, out);
                if (moved <= 0) {
                    throw new IOException("could not copy metadata %s from %s".formatted(copied.key(), copied.source()));
                }
                position += moved;
            }
        }
    }

    private long headerSize() {
        long size = 4 + 4 + 8 + 8;
        for (Entry entry : entries) {
            size += 8 + entry.key().getBytes(UTF_8).length + switch (entry) {
                case Encoded encoded -> encoded.value().length;
                case Copied copied -> copied.entry().length();
            };
        }
        for (TensorInfo tensor : tensors) {
            size += 8 + tensor.name().getBytes(UTF_8).length + 4 + 8L * tensor.dimensions().size() + 4 + 8;
        }
        return size;
    }

    private long copiedBytes() {
        return entries.stream().mapToLong(e -> e instanceof Copied c ? c.entry().length() : 0).sum();
    }

    private GgufWriter put(String key, ByteBuffer value) {
        addKey(key);
        entries.add(new Encoded(key, value.array()));
        return this;
    }

    private void addKey(String key) {
        requireNonNull(key, "key is null");
        if (key.isEmpty() || !keys.add(key)) {
            throw new IllegalArgumentException("metadata key '" + key + "' is empty or declared twice");
        }
    }

    private static ByteBuffer value(GgufValueType type, int bytes) {
        return ByteBuffer.allocate(4 + bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(type.id());
    }

    private static void putString(ByteBuffer buffer, String value) {
        byte[] utf8 = value.getBytes(UTF_8);
        buffer.putLong(utf8.length).put(utf8);
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static long alignUp(long position) {
        return (position + ALIGNMENT - 1) & -ALIGNMENT;
    }
}
