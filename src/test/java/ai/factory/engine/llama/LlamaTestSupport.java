package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.factory.FactoryException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the llama tests need from outside the project: the natives and the header that {@code ./factory}
 * fetches. Tests skip where they are absent, except under CI ({@code CI=true}), where their absence is a
 * failure: a CI run that skipped the engine's tests would prove nothing about it.
 */
final class LlamaTestSupport {
    private LlamaTestSupport() {}

    static boolean underCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    static void require(boolean present, String what) {
        if (!present && underCi()) {
            fail(what + " is missing; under CI it must be there (./factory test fetches it)");
        }
        assumeTrue(present, what + " is missing; tests that need it are skipped");
    }

    static LlamaRuntime runtime() {
        try {
            return LlamaRuntime.load();
        } catch (FactoryException e) {
            require(false, "llama.cpp natives (" + e.getMessage() + ")");
            throw e;
        }
    }

    /** The pinned llama.cpp source folder, with include/llama.h. */
    static Path source() {
        String dir = System.getProperty("factory.llama.src", "");
        Path header = dir.isBlank() ? null : Path.of(dir, "include", "llama.h");
        require(header != null && Files.isRegularFile(header), "the pinned llama.h (-Dfactory.llama.src)");
        return Path.of(dir);
    }
}
