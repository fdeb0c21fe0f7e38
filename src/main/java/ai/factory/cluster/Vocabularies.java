package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Vocabulary;
import ai.factory.models.ModelVersion;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vocabularies of the text models whose replicas run on workers, each loaded on the control plane once per model
 * version and shared by that version's replicas: with it, a replica tokenizes here instead of calling its worker,
 * and an inference call makes one trip to a worker, not two. The last replica of a version to let go unloads it.
 *
 * <p>A vocabulary that cannot be loaded here (no llama.cpp natives on this machine, too little memory) is no
 * failure: the replica then asks its worker to tokenize, as it always could, and the log says why once a version.
 */
final class Vocabularies {
    private static final Logger LOG = LoggerFactory.getLogger(Vocabularies.class);

    private final Function<ModelVersion, Vocabulary> loader;
    private final Map<String, Shared> byVersion = new HashMap<>();

    /** @param loader loads a model version's vocabulary; may throw */
    Vocabularies(Function<ModelVersion, Vocabulary> loader) {
        this.loader = requireNonNull(loader, "loader is null");
    }

    /** A version's vocabulary for one replica, to close when the replica ends; null where it cannot be loaded. */
    synchronized @Nullable Vocabulary acquire(ModelVersion version) {
        String key = version.ref().toString();
        Shared shared = byVersion.get(key);
        if (shared == null) {
            long start = System.nanoTime();
            Vocabulary loaded;
            try {
                loaded = loader.apply(version);
            } catch (RuntimeException e) {
                LOG.warn("the vocabulary of {} stays on its workers, which tokenize for it: {}", key, e.getMessage());
                return null;
            }
            LOG.info("loaded the vocabulary of {} in {} ms: its calls are tokenized here", key,
                    (System.nanoTime() - start) / 1_000_000);
            shared = new Shared(key, loaded);
            byVersion.put(key, shared);
        }
        shared.users++;
        return shared.handle();
    }

    private synchronized void release(Shared shared) {
        if (--shared.users == 0) {
            byVersion.remove(shared.key);
            shared.vocabulary.close();
        }
    }

    /** How many versions have a vocabulary loaded here. */
    synchronized int loaded() {
        return byVersion.size();
    }

    private final class Shared {
        final String key;
        final Vocabulary vocabulary;
        int users;

        Shared(String key, Vocabulary vocabulary) {
            this.key = key;
            this.vocabulary = vocabulary;
        }

        /** One user's hold on it: closing it lets go, once. */
        Vocabulary handle() {
            AtomicBoolean released = new AtomicBoolean();
            return new Vocabulary() {
                @Override
                public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
                    return vocabulary.tokenize(text, addSpecial, parseSpecial);
                }

                @Override
                public String detokenize(int[] tokens) {
                    return vocabulary.detokenize(tokens);
                }

                @Override
                public void close() {
                    if (released.compareAndSet(false, true)) {
                        release(Shared.this);
                    }
                }
            };
        }
    }
}
