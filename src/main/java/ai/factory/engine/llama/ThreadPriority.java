package ai.factory.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Lowers the calling thread's CPU priority (its nice value, Linux: {@code setpriority(PRIO_PROCESS, tid, n)}).
 * Threads it starts afterwards inherit it, ggml's compute threads included, so training that lowers its own thread
 * before it creates its thread pool runs wholly below serving. Raising a priority again needs a privilege the
 * factory does not assume, so this only ever lowers it; elsewhere than Linux it does nothing.
 */
final class ThreadPriority {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadPriority.class);
    private static final int PRIO_PROCESS = 0;
    /** {@code SYS_gettid} on x86-64 and arm64 Linux. */
    private static final long SYS_GETTID = "aarch64".equals(System.getProperty("os.arch")) ? 178 : 186;
    private static final @Nullable MethodHandle SETPRIORITY = function("setpriority",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final @Nullable MethodHandle SYSCALL = function("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));

    private ThreadPriority() {}

    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    private static @Nullable MethodHandle function(String name, FunctionDescriptor descriptor) {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(a -> linker.downcallHandle(a, descriptor)).orElse(null);
    }

    /** Sets the calling thread's nice value to {@code nice} (1-19); false where that could not be done. */
    static boolean lowerCurrentThread(int nice) {
        if (nice <= 0 || SETPRIORITY == null || SYSCALL == null || !System.getProperty("os.name").startsWith("Linux")) {
            return false;
        }
        try {
            int tid = (int) (long) SYSCALL.invokeExact(SYS_GETTID);
            int rc = (int) SETPRIORITY.invokeExact(PRIO_PROCESS, tid, Math.min(nice, 19));
            return rc == 0;
        } catch (Throwable e) {
            LOG.warn("cannot lower the training thread's priority: {}", e.toString());
            return false;
        }
    }

    /** The calling thread's nice value as {@code /proc/thread-self/stat} has it, or 0 where it can't be read. */
    static int currentThread() {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/thread-self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[16]); // field 19 of stat, counted after the command name
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }
}
