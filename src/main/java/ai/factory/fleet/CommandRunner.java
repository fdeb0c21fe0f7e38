package ai.factory.fleet;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Runs a discovery tool. The boundary between discovery and the machine; tests feed recorded outputs through it. */
@FunctionalInterface
public interface CommandRunner {
    /** What a finished (or timed-out) command printed. */
    record Result(int exitCode, String stdout, String stderr, boolean timedOut) {
        public Result {
            requireNonNull(stdout, "stdout is null");
            requireNonNull(stderr, "stderr is null");
        }

        public static Result ok(String stdout) {
            return new Result(0, stdout, "", false);
        }
    }

    /**
     * Runs {@code command} and waits at most {@code timeout}; empty when the program is not installed, which is
     * normal (a node without GPUs has no nvidia-smi).
     */
    Optional<Result> run(List<String> command, Duration timeout);

    /** Runs commands as processes of this machine, found on the {@code PATH}. */
    static CommandRunner system() {
        return new ProcessCommandRunner();
    }
}
