package ai.factory.serving;

import ai.factory.engine.EmbeddingEngine;
import ai.factory.engine.Embeddings;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A replica for lifecycle tests: it serves nothing and counts how often it was closed. */
class IdleEngine implements EmbeddingEngine {
    final AtomicInteger closed = new AtomicInteger();

    @Override
    public int dimensions() {
        return 1;
    }

    @Override
    public int maxInputTokens() {
        return 1;
    }

    @Override
    public int countTokens(String text) {
        return 1;
    }

    @Override
    public Embeddings embed(List<String> inputs) {
        throw new UnsupportedOperationException("an idle engine embeds nothing");
    }

    @Override
    public void close() {
        closed.incrementAndGet();
    }
}
