package ai.factory;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared test models beside the project ({@code ../shared/models}); tests skip only where that folder is absent. */
public final class TestModels {
    private TestModels() {}

    public static Path tinyLlama() {
        Path dir = Path.of(System.getProperty("factory.test.models", "../shared/models"));
        Path file = dir.resolve("llama-2-tiny-random.gguf");
        assumeTrue(Files.isRegularFile(file), "test model " + file + " is absent; tests that need it are skipped");
        return file;
    }
}
