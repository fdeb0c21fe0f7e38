package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.storage.DataKey;
import ai.factory.storage.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a worker gets models when the control plane's blob folder is shared with it: mounted (a shared file system:
 * NFS, CephFS, a ReadWriteMany volume; read-only is enough) or mirrored to an S3 bucket ({@link S3BlobMirror}). An
 * encrypted blob is copied from there instead of streamed through the control plane, which then gives out only data
 * keys. A fleet of workers loading one large model reads it from the storage system, not all from the control plane.
 *
 * <p>What is copied is ciphertext, exactly as fetched ones are, and it is checked the same way: the worker decrypts
 * it with the data key the control plane released and compares the plaintext's digest with the assignment's, so a
 * wrong or altered file on the shared volume is refused (deleted from the worker's cache, never loaded) and the blob
 * fetched from the control plane instead. A blob not on the shared volume (yet) comes from the control plane. Only
 * the blob folder may be shared with workers, never the site folder around it: that holds the master keystore and the
 * audit signing key.
 */
public final class SharedBlobSource implements WorkerReplicas.ModelSource {
    private static final Logger LOG = LoggerFactory.getLogger(SharedBlobSource.class);

    /** A copy of the control plane's blob folder, as this worker reads it. */
    public interface Mirror {
        /**
         * Copies the blob of {@code owner} with plaintext digest {@code sha256} to {@code target}; false where the
         * mirror does not have it.
         */
        boolean copy(String owner, String sha256, Path target) throws IOException, InterruptedException;

        /** Where the mirror is, for messages. */
        String describe();
    }

    private final Mirror mirror;
    private final WorkerReplicas.ModelSource controlPlane;
    /** Blobs whose copy on the mirror did not verify (stale or foreign): not copied again. */
    private final java.util.Set<String> bad = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * @param root the control plane's blob folder as mounted here (its {@code blobs/}, holding {@code keyed/})
     * @param controlPlane where keys, and blobs the shared folder does not have, come from
     * @throws FactoryException INVALID_REQUEST when {@code root} is not a factory's blob folder
     */
    public SharedBlobSource(Path root, WorkerReplicas.ModelSource controlPlane) {
        this(folder(requireBlobFolder(root)), controlPlane);
    }

    /** Blobs from {@code mirror}, and keys and blobs it does not have from {@code controlPlane}. */
    public SharedBlobSource(Mirror mirror, WorkerReplicas.ModelSource controlPlane) {
        this.mirror = requireNonNull(mirror, "mirror is null");
        this.controlPlane = requireNonNull(controlPlane, "controlPlane is null");
    }

    /**
     * {@code root}, absolute, once it is seen to be a factory's blob folder (it holds {@code keyed/}): a worker checks
     * before it joins, so that a wrong path costs no join token.
     *
     * @throws FactoryException INVALID_REQUEST when it is not
     */
    public static Path requireBlobFolder(Path root) {
        Path absolute = requireNonNull(root, "root is null").toAbsolutePath().normalize();
        if (!Files.isDirectory(absolute.resolve("keyed"))) {
            throw FactoryException.invalidParam("shared-blobs", absolute + " is not a factory's blob folder (it has "
                    + "no keyed/ folder): give the control plane's blobs/ folder as mounted on this machine");
        }
        return absolute;
    }

    /** The blob folder at {@code root}, mounted here (checked by {@link #requireBlobFolder}). */
    public static Mirror folder(Path root) {
        return new Mirror() {
            @Override
            public boolean copy(String owner, String sha256, Path target) throws IOException {
                Path shared = BlobStore.pathIn(root, owner, sha256);
                if (!Files.isRegularFile(shared)) {
                    return false;
                }
                Files.copy(shared, target, StandardCopyOption.REPLACE_EXISTING);
                return true;
            }

            @Override
            public String describe() {
                return "the shared blob folder " + root;
            }
        };
    }

    @Override
    public void fetchBlob(ReplicaWork work, Path target) throws IOException, InterruptedException {
        if (bad.contains(work.owner() + "/" + work.sha256())) {
            LOG.info("the copy of {} on {} did not verify before; fetching it from the control plane", work.model(),
                    mirror.describe());
        } else {
            try {
                if (mirror.copy(work.owner(), work.sha256(), target)) {
                    LOG.info("copied the blob of {} from {}", work.model(), mirror.describe());
                    return;
                }
                LOG.info("{} has no blob of {}; fetching it from the control plane", mirror.describe(), work.model());
            } catch (IOException | RuntimeException e) {
                LOG.warn("cannot copy the blob of {} from {} ({}); fetching it from the control plane", work.model(),
                        mirror.describe(), e.getMessage());
            }
        }
        Files.deleteIfExists(target); // what a failed copy left
        controlPlane.fetchBlob(work, target);
    }

    /** A copy from the mirror that did not verify: the next fetch of it comes from the control plane. */
    @Override
    public boolean fetchedBadBlob(ReplicaWork work) {
        return bad.add(work.owner() + "/" + work.sha256());
    }

    @Override
    public DataKey fetchKey(ReplicaWork work) throws IOException, InterruptedException {
        return controlPlane.fetchKey(work);
    }
}
