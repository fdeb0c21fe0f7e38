package ai.factory.storage;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * The start-up repair of the blob store after a crash. A blob is kept only when all three agree: its file is on disk,
 * its data key is recorded, and something the factory keeps (a model version's file, a call's logged content, a
 * dataset) names it. What a killed process can leave behind, and what happens to it:
 *
 * <ul>
 * <li>a staging file (killed while an upload or import streamed in): deleted;</li>
 * <li>a blob file with no recorded key (killed after the rename, before the import's transaction committed): nobody
 * can ever decrypt it, so it is deleted;</li>
 * <li>a recorded key that nothing names (killed after a delete's transaction, before its key and file went): the key
 * is destroyed, then the file deleted, as the delete would have done;</li>
 * <li>a named, keyed blob whose file is gone: nothing can bring it back; it is reported, and left for an operator.</li>
 * </ul>
 *
 * <p>Only safe while nothing else writes the store or the keys: at start, before the factory serves.
 */
public final class BlobSweep {
    private BlobSweep() {}

    /** One blob: its owner (whose keys) and its digest. */
    public record Blob(String owner, String sha256) {
        public Blob {
            BlobOwner.require(owner);
            Sha256.require(sha256);
        }
    }

    /** What the sweep removed, and what it found missing. */
    public record Report(BlobStore.Removed staging, BlobStore.Removed unkeyed, BlobStore.Removed unreferenced,
                         List<Blob> missing) {
        public Report {
            requireNonNull(staging, "staging is null");
            requireNonNull(unkeyed, "unkeyed is null");
            requireNonNull(unreferenced, "unreferenced is null");
            missing = List.copyOf(missing);
        }

        /** Whether the store was already consistent. */
        public boolean clean() {
            return staging.files() == 0 && unkeyed.files() == 0 && unreferenced.files() == 0 && missing.isEmpty();
        }

        public long bytesFreed() {
            return staging.bytes() + unkeyed.bytes() + unreferenced.bytes();
        }

        /** One line for the log and the audit record. */
        public String summary() {
            return ("removed %d staging file(s) of interrupted uploads (%d bytes), %d blob file(s) whose key was never "
                    + "recorded (%d bytes), %d blob(s) nothing uses any more with their keys (%d bytes); %d blob(s) in "
                    + "use are missing from the disk%s").formatted(staging.files(), staging.bytes(), unkeyed.files(),
                    unkeyed.bytes(), unreferenced.files(), unreferenced.bytes(), missing.size(),
                    missing.isEmpty() ? "" : " " + missing.stream().limit(5).map(b -> b.owner() + "/" + b.sha256())
                            .toList() + (missing.size() > 5 ? " …" : ""));
        }
    }

    /**
     * Repairs the store against the recorded keys and what uses them.
     *
     * @param keyed      every blob whose data key is recorded
     * @param referenced every blob something the factory keeps names
     * @param forgetKey  destroys the recorded key of a blob nothing names
     */
    public static Report sweep(BlobStore store, Set<Blob> keyed, Set<Blob> referenced, Consumer<Blob> forgetKey) {
        BlobStore.Removed staging = store.removeStaging();
        BlobStore.Removed unkeyed = BlobStore.Removed.NONE;
        BlobStore.Removed unreferenced = BlobStore.Removed.NONE;
        Set<Blob> onDisk = new HashSet<>();
        for (BlobStore.StoredFile f : store.storedFiles()) {
            Blob blob = new Blob(f.owner(), f.sha256());
            if (!keyed.contains(blob)) {
                store.delete(f.owner(), f.sha256());
                unkeyed = unkeyed.plus(f.bytes());
            } else {
                onDisk.add(blob);
            }
        }
        List<Blob> missing = new ArrayList<>();
        for (Blob blob : keyed) {
            if (!referenced.contains(blob)) {
                forgetKey.accept(blob); // the key first: a crash between leaves an unkeyed file, swept next time
                if (onDisk.contains(blob)) {
                    long size = store.storedSize(blob.owner(), blob.sha256());
                    store.delete(blob.owner(), blob.sha256());
                    unreferenced = unreferenced.plus(size);
                }
            } else if (!onDisk.contains(blob)) {
                missing.add(blob);
            }
        }
        return new Report(staging, unkeyed, unreferenced, missing);
    }
}
