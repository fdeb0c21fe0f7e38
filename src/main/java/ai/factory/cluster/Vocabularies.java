package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Vocabulary;
import ai.factory.models.ModelVersion;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vocabularies of the text models whose replicas run on workers, each loaded on the control plane once per model
 * version and shared by that version's replicas: with it, a replica tokenizes here instead of calling its worker,
 * and an inference call makes one trip to a worker, not two. The last replica of a version to let go unloads it.
 * A version's replicas that start together wait for one load; other versions load meanwhile.
 *
 * <p>A vocabulary that cannot be loaded here (no llama.cpp natives on this machine, too little memory) is no
 * failure: the version's replicas then ask their workers to tokenize, as they always could. It is not tried again
 * for that version for {@link #RETRY_AFTER}, and the log says why once a try.
 */
final class Vocabularies {
    private static final Logger LOG = LoggerFactory.getLogger(Vocabularies.class);

    private final Function<ModelVersion, Vocabulary> loader;
    private final Map<String, Shared> byVersion = new HashMap<>();
    /** Versions whose vocabulary failed to load, and until when (System.nanoTime) it is not tried again. */
    private final Map<String, Long> failed = new HashMap<>();
    /** How long a version whose vocabulary failed to load goes without a try. */
    static final java.time.Duration RETRY_AFTER = java.time.Duration.ofMinutes(5);

    /** @param loader loads a model version's vocabulary; may throw */
    Vocabularies(Function<ModelVersion, Vocabulary> loader) {
        this.loader = requireNonNull(loader, "loader is null");
    }

    /** A version's vocabulary for one replica, to close when the replica ends; null where it cannot be loaded. */
    @Nullable Vocabulary acquire(ModelVersion version) {
        String key = version.ref().toString();
        Shared shared;
        boolean loadHere = false;
        synchronized (this) {
            Long until = failed.get(key);
            if (until != null && System.nanoTime() - until < 0) {
                return null;
            }
            failed.remove(key);
            shared = byVersion.get(key);
            if (shared == null) {
                shared = new Shared(key);
                byVersion.put(key, shared);
                loadHere = true;
            }
            shared.users++;
        }
        if (loadHere) {
            load(version, shared);
        }
        Vocabulary loaded = shared.vocabulary.join();
        if (loaded == null) {
            release(shared);
            return null;
        }
        return shared.handle();
    }

    /** Loads outside the lock: other versions' replicas are not held up by it. */
    private void load(ModelVersion version, Shared shared) {
        long start = System.nanoTime();
        try {
            Vocabulary loaded = loader.apply(version);
            LOG.info("loaded the vocabulary of {} in {} ms: its calls are tokenized here", shared.key,
                    (System.nanoTime() - start) / 1_000_000);
            shared.vocabulary.complete(loaded);
        } catch (RuntimeException | Error e) {
            LOG.warn("the vocabulary of {} stays on its workers, which tokenize for it (tried again in {} min): {}",
                    shared.key, RETRY_AFTER.toMinutes(), String.valueOf(e.getMessage()));
            synchronized (this) {
                failed.put(shared.key, System.nanoTime() + RETRY_AFTER.toNanos());
            }
            shared.vocabulary.complete(null);
        }
    }

    private void release(Shared shared) {
        Vocabulary unload = null;
        synchronized (this) {
            if (--shared.users == 0) {
                byVersion.remove(shared.key);
                unload = shared.vocabulary.getNow(null);
            }
        }
        if (unload != null) {
            unload.close();
        }
    }

    /** How many versions have a vocabulary loaded (or loading) here. */
    synchronized int loaded() {
        return byVersion.size();
    }

    private final class Shared {
        final String key;
        final CompletableFuture<@Nullable Vocabulary> vocabulary = new CompletableFuture<>();
        int users;

        Shared(String key) {
            this.key = key;
        }

        /** One user's hold on it: closing it lets go, once. */
        Vocabulary handle() {
            Vocabulary v = requireNonNull(vocabulary.getNow(null), "not loaded");
            AtomicBoolean released = new AtomicBoolean();
            return new Vocabulary() {
                @Override
                public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
                    return v.tokenize(text, addSpecial, parseSpecial);
                }

                @Override
                public String detokenize(int[] tokens) {
                    return v.detokenize(tokens);
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
