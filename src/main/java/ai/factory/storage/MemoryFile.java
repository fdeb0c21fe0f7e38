package ai.factory.storage;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * An anonymous file in RAM ({@code memfd_create(2)}, Linux): it has no name in any file system, its pages are
 * memory (swappable like any anonymous memory, never written to a disk file), and it is gone once the last
 * descriptor and mapping of it are. Decrypted model weights go here so that a loader which only takes a path
 * (llama.cpp) reads them from {@code /proc/self/fd/N} without a plaintext copy on disk; with the loader mapping the
 * file, its pages are the weights, so there is no second copy in memory either.
 *
 * <p>The descriptor is close-on-exec, so tools the factory runs don't inherit it. Close the file once the loader has
 * opened or mapped it: its memory then lives exactly as long as the loader's mapping.
 */
@SuppressWarnings("restricted")
public final class MemoryFile implements AutoCloseable {
    private static final int MFD_CLOEXEC = 1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final @Nullable MemorySegment MEMFD_SYMBOL =
            LINKER.defaultLookup().find("memfd_create").orElse(null);
    private static final @Nullable MethodHandle MEMFD_CREATE = MEMFD_SYMBOL == null ? null
            : LINKER.downcallHandle(MEMFD_SYMBOL, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                    Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final int BUFFER_SIZE = 1024 * 1024;

    private final int fd;
    private final long size;
    private boolean closed;

    private MemoryFile(int fd, long size) {
        this.fd = fd;
        this.size = size;
    }

    /** Whether this system has {@code memfd_create} (Linux 3.17+ with glibc 2.27+). */
    public static boolean supported() {
        return MEMFD_CREATE != null;
    }

    /**
     * Creates an anonymous file named {@code name} (shown only in {@code /proc/PID/fd} and {@code maps} as
     * {@code /memfd:NAME}) and copies all of {@code content} into it. Does not close {@code content}.
     *
     * @throws FactoryException UNAVAILABLE when the system has no {@code memfd_create} or too little memory; the
     *     content's own read failures come through as they are ({@code BlobAuthenticationException} for a blob that
     *     fails authentication)
     */
    public static MemoryFile copyOf(ReadableByteChannel content, String name) throws IOException {
        MemoryFile file = create(name);
        try (FileChannel out = FileChannel.open(file.path(), StandardOpenOption.WRITE)) {
            return new MemoryFile(file.fd, copy(content, out, Long.MAX_VALUE));
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * An anonymous file as long as {@code content} that holds only its first {@code prefix} bytes: the rest reads as
     * zeros and takes no memory (a sparse file). A loader that reads only the start of a file but checks its size
     * (llama.cpp loading a model's vocabulary alone, from the metadata before the weights) gets what it reads and
     * nothing more is decrypted. Reads {@code content} from its start; does not close it.
     */
    public static MemoryFile prefixOf(SeekableByteChannel content, long prefix, String name) throws IOException {
        if (prefix < 0) {
            throw new IllegalArgumentException("prefix is negative: " + prefix);
        }
        long size = content.size();
        MemoryFile file = create(name);
        try (RandomAccessFile out = new RandomAccessFile(file.path().toFile(), "rw")) {
            content.position(0);
            long written = copy(content, out.getChannel(), Math.min(prefix, size));
            if (written < Math.min(prefix, size)) {
                throw new IOException("the content ended after " + written + " of " + size + " bytes");
            }
            out.setLength(size);
            return new MemoryFile(file.fd, size);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** A new, empty anonymous file. */
    private static MemoryFile create(String name) {
        if (!supported()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "this system has no memfd_create (Linux only): encrypted "
                    + "models can't be handed to llama.cpp without writing them to disk, which the factory refuses");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            MethodHandle memfdCreate = Objects.requireNonNull(MEMFD_CREATE, "memfd_create is not available");
            int fd = (int) memfdCreate.invokeExact(state, arena.allocateFrom(name), MFD_CLOEXEC);
            if (fd < 0) {
                int errno = state.get(JAVA_INT, Linker.Option.captureStateLayout().byteOffset(
                        java.lang.foreign.MemoryLayout.PathElement.groupElement("errno")));
                throw new FactoryException(ErrorCode.UNAVAILABLE, "memfd_create failed with errno " + errno);
            }
            return new MemoryFile(fd, 0);
        } catch (FactoryException e) {
            throw e;
        } catch (Throwable e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot call memfd_create: " + e, e);
        }
    }

    /** Copies up to {@code limit} bytes of {@code content} to {@code out}; returns how many. */
    private static long copy(ReadableByteChannel content, FileChannel out, long limit) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_SIZE);
        long written = 0;
        while (written < limit) {
            buffer.limit((int) Math.min(BUFFER_SIZE, limit - written));
            if (content.read(buffer) == -1) {
                break;
            }
            buffer.flip();
            while (buffer.hasRemaining()) {
                written += out.write(buffer);
            }
            buffer.clear();
        }
        return written;
    }

    /**
     * {@code /proc/self/fd/N}: a path this process can open for as long as the file is open (and, through
     * {@code /proc/PID/fd/N}, processes allowed to inspect it: root, or the same user where ptrace is permitted).
     */
    public Path path() {
        return Path.of("/proc/self/fd/" + fd);
    }

    public long size() {
        return size;
    }

    /** Closes this process's descriptor; the memory goes when no mapping of it is left either. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            int rc = (int) CLOSE.invokeExact(fd);
            if (rc != 0) {
                LoggerFactory.getLogger(MemoryFile.class).warn("closing memory file descriptor {} failed", fd);
            }
        } catch (Throwable e) {
            throw new IllegalStateException("cannot close memory file descriptor " + fd, e);
        }
    }
}
