package ai.factory.engine.llama;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.engine.Vocabulary;
import java.nio.file.Path;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A GGUF model's vocabulary loaded alone (llama.cpp's {@code vocab_only}): the metadata at the file's start is read,
 * the weights are not, so the file need hold only that start (see {@code MemoryFile.prefixOf}). It tokenizes with
 * the same llama.cpp code, on the same vocabulary, as a {@link LlamaEngine} of the whole model.
 */
public final class LlamaVocabulary implements Vocabulary {
    private final LlamaModel model;
    private final String name;
    /** Calls hold the read lock; close takes the write lock, so that it never frees the vocabulary under one. */
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private LlamaVocabulary(LlamaModel model, String name) {
        this.model = model;
        this.name = name;
    }

    /**
     * Loads the vocabulary of the GGUF file at {@code file}; {@code name} is how callers name the model. A file
     * llama.cpp cannot read is INVALID_REQUEST with its reason.
     */
    public static LlamaVocabulary load(LlamaRuntime runtime, Path file, String name) {
        requireNonNull(runtime, "runtime is null");
        requireNonNull(name, "name is null");
        return new LlamaVocabulary(LlamaModel.loadVocabulary(runtime, requireNonNull(file, "file is null"), name), name);
    }

    /** How many tokens the vocabulary has. */
    public int size() {
        return model.vocabularySize();
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        requireNonNull(text, "text is null");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return model.tokenize(text, addSpecial, parseSpecial);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public String detokenize(int[] tokens) {
        requireNonNull(tokens, "tokens is null");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            model.checkTokens(tokens, "tokens");
            return model.detokenize(tokens);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the vocabulary of " + name + " was unloaded");
        }
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                model.close();
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
