package ai.factory.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaRuntimeTest {
    @TempDir
    Path dir;

    @Test
    void aSitesOwnBuildInTheEnvironmentWinsOverThePinnedNatives() {
        Map<String, String> env = Map.of(LlamaRuntime.LIB_DIR_ENV, "/opt/llama-cuda/lib");
        Map<String, String> properties = Map.of(LlamaRuntime.LIB_DIR_PROPERTY, "/cache/llama/lib");

        assertThat(LlamaRuntime.libraryDir(env, properties)).contains(Path.of("/opt/llama-cuda/lib"));
        assertThat(LlamaRuntime.libraryDir(Map.of(), properties)).contains(Path.of("/cache/llama/lib"));
        assertThat(LlamaRuntime.libraryDir(Map.of(LlamaRuntime.LIB_DIR_ENV, " "), Map.of())).isEmpty();
    }

    @Test
    void withoutNativesLoadingIsUnavailableAndSaysWhatToDo() {
        assertThatThrownBy(() -> LlamaRuntime.load(Map.of(), Map.of()))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                    assertThat(e.getMessage()).startsWith("GGUF engine unavailable: no llama.cpp libraries configured")
                            .endsWith("set FACTORY_LLAMA_LIB_DIR or install npm so ./factory can fetch the natives");
                });
        assertThatThrownBy(() -> LlamaRuntime.load(dir.resolve("missing")))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                    assertThat(e.getMessage()).contains("missing does not exist");
                });
    }

    @Test
    void findsPlainAndVersionedLibraryNamesButNotTheirNeighbours() throws Exception {
        for (String name : new String[] {"libggml-base.so", "libggml-cpu-haswell.so", "libggml.v0.5.0.so",
                "libllama-common.so", "libllama.so.1"}) {
            Files.createFile(dir.resolve(name));
        }

        assertThat(LlamaRuntime.findLibrary(dir, "libggml-base")).hasFileName("libggml-base.so");
        assertThat(LlamaRuntime.findLibrary(dir, "libggml")).hasFileName("libggml.v0.5.0.so");
        assertThat(LlamaRuntime.findLibrary(dir, "libllama")).hasFileName("libllama.so.1");
        Files.createFile(dir.resolve("libllama.so"));
        assertThat(LlamaRuntime.findLibrary(dir, "libllama")).hasFileName("libllama.so");
    }

    @Test
    void findsTheCudaPackagesVariantNamedLibraries() throws Exception {
        Path cuda = Files.createDirectories(dir.resolve("cuda"));
        for (String f : new String[] {"libggml-base.so", "libggml.cuda.v0.5.0.so", "libggml-cuda.so",
                "libllama.cuda.v0.5.0.so", "libllama-common.so"}) {
            Files.createFile(cuda.resolve(f));
        }
        assertThat(LlamaRuntime.findLibrary(cuda, "libggml")).hasFileName("libggml.cuda.v0.5.0.so");
        assertThat(LlamaRuntime.findLibrary(cuda, "libllama")).hasFileName("libllama.cuda.v0.5.0.so");
        assertThat(LlamaRuntime.findLibrary(cuda, "libggml-base")).hasFileName("libggml-base.so");
    }

    @Test
    void readsTheLlamaCppVersionFromTheLibrarysNameWithoutLoadingIt() throws Exception {
        assertThat(LlamaRuntime.versionOf("libllama.v0.5.0.so")).contains("0.5.0");
        assertThat(LlamaRuntime.versionOf("libllama.cuda.v0.5.0.so")).contains("0.5.0");
        assertThat(LlamaRuntime.versionOf("libllama.so.0.0.6123")).contains("0.0.6123");
        assertThat(LlamaRuntime.versionOf("libllama.so.1")).as("a bare soname version says nothing").isEmpty();
        assertThat(LlamaRuntime.versionOf("libllama.so")).isEmpty();

        // A CMake build: libllama.so links to the versioned file.
        Files.createFile(dir.resolve("libllama.so.0.0.6123"));
        Files.createSymbolicLink(dir.resolve("libllama.so"), dir.resolve("libllama.so.0.0.6123").getFileName());
        assertThat(LlamaRuntime.onDisk(dir)).hasValueSatisfying(n -> {
            assertThat(n.library()).hasFileName("libllama.so");
            assertThat(n.version()).contains("0.0.6123");
        });
        assertThat(LlamaRuntime.onDisk(dir.resolve("missing"))).isEmpty();
    }

    @Test
    void loadingTheSameFolderTwiceGivesTheOneRuntime() {
        LlamaRuntime runtime = LlamaTestSupport.runtime();

        assertThat(LlamaRuntime.load(runtime.libraryDir())).isSameAs(runtime);
    }
}
