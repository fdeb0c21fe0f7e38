package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.engine.Vocabulary;
import ai.factory.models.ModelVersion;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
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
 * for that version until this control plane restarts, and the log says why once.
 */
final class Vocabularies {
    private static final Logger LOG = LoggerFactory.getLogger(Vocabularies.class);

    private final Function<ModelVersion, Vocabulary> loader;
    private final Map<String, Shared> byVersion = new HashMap<>();
    private final Set<String> failed = new HashSet<>();

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
            if (failed.contains(key)) {
                return null;
            }
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
        } catch (RuntimeException e) {
            LOG.warn("the vocabulary of {} stays on its workers, which tokenize for it: {}", shared.key,
                    e.getMessage());
            synchronized (this) {
                failed.add(shared.key);
            }
            shared.vocabulary.complete(null);
        } finally {
            shared.vocabulary.complete(null); // an Error: its waiters go on without it (a no-op once completed)
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
