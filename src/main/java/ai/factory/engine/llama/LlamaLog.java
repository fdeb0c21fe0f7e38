package ai.factory.engine.llama;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;

/**
 * Where llama.cpp's and ggml's log lines go: the factory's logger at DEBUG, never stdout. Model loading
 * prints hundreds of lines an operator doesn't need; the ones that explain a failure reach them through
 * the {@link ai.factory.FactoryException} of the failing call instead, via {@link #captureErrors()}.
 *
 * <p>The callback runs on whichever thread logs: the caller of a llama.cpp function or one of ggml's
 * worker threads. It never throws (an exception escaping an upcall would end the JVM).
 */
final class LlamaLog {
    private static final Logger LOG = LoggerFactory.getLogger("ai.factory.engine.llama.native");
    private static final int GGML_LOG_LEVEL_WARN = 3;
    private static final int GGML_LOG_LEVEL_ERROR = 4;
    private static final int GGML_LOG_LEVEL_CONT = 5;

    /** Per thread: the level of the last line (for CONT) and, while capturing, the errors seen. */
    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    private static final class State {
        int lastLevel;
        @Nullable StringBuilder captured;
    }

    /** Test hook: while set, every line goes here too (see {@link #tap}). */
    private static volatile java.util.function.@Nullable Consumer<String> tap;

    private LlamaLog() {}

    /**
     * Sends every llama.cpp log line to {@code sink} as well until the returned handle is closed; for tests that
     * read what llama.cpp reports (its buffer sizes) whatever the logging level. One tap at a time.
     */
    static AutoCloseable tap(java.util.function.Consumer<String> sink) {
        java.util.Objects.requireNonNull(sink, "sink is null");
        tap = sink;
        return () -> tap = null;
    }

    /** The {@code ggml_log_callback}: {@code void (enum ggml_log_level level, const char * text, void * user_data)}. */
    // Restricted FFM calls are this package's job; the launcher grants native access.
    @SuppressWarnings("restricted")
    static void log(int level, MemorySegment text, MemorySegment userData) {
        try {
            State state = STATE.get();
            int effective = level == GGML_LOG_LEVEL_CONT ? state.lastLevel : level;
            state.lastLevel = effective;
            StringBuilder captured = effective >= GGML_LOG_LEVEL_WARN ? state.captured : null;
            boolean capture = captured != null;
            java.util.function.Consumer<String> sink = tap;
            if (!capture && sink == null && !LOG.isDebugEnabled()) {
                return;
            }
            String line = text.reinterpret(Long.MAX_VALUE).getString(0);
            if (sink != null) {
                sink.accept(line);
            }
            if (captured != null && effective == GGML_LOG_LEVEL_ERROR) {
                captured.append(line);
            }
            LOG.debug("{}", line.stripTrailing());
        } catch (Throwable e) {
            // Nowhere to report it: an exception may not cross back into native code.
        }
    }

    /** Starts recording llama.cpp's error lines on this thread; close the capture to stop. */
    static Capture captureErrors() {
        State state = STATE.get();
        state.captured = new StringBuilder();
        return new Capture(state);
    }

    /** Error lines logged on one thread while it was open. */
    static final class Capture implements AutoCloseable {
        private final State state;

        private Capture(State state) {
            this.state = state;
        }

        /** The captured errors as one line, or {@code fallback} when llama.cpp said nothing. */
        String reason(String fallback) {
            String text = state.captured == null ? "" : state.captured.toString().strip().replaceAll("\\s*\\n\\s*", "; ");
            return text.isEmpty() ? fallback : text;
        }

        /** Forgets what was captured so far; the capture stays open. */
        void clear() {
            if (state.captured != null) {
                state.captured.setLength(0);
            }
        }

        @Override
        public void close() {
            state.captured = null;
        }
    }
}
