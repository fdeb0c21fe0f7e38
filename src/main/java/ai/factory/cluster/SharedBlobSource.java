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
 * Where a worker gets models when the control plane's blob folder is mounted on it too (a shared file system: NFS,
 * CephFS, a ReadWriteMany volume; read-only is enough): an encrypted blob is copied from there instead of streamed
 * through the control plane, which then gives out only data keys. A fleet of workers loading one large model reads it
 * from the storage system, not all from the control plane.
 *
 * <p>What is copied is ciphertext, exactly as fetched ones are, and it is checked the same way: the worker decrypts
 * it with the data key the control plane released and compares the plaintext's digest with the assignment's, so a
 * wrong or altered file on the shared volume is refused (deleted from the worker's cache, never loaded) and the blob
 * fetched from the control plane instead. A blob not on the shared volume (yet) comes from the control plane. Only the blob folder may be shared with workers, never
 * the site folder around it: that holds the master keystore and the audit signing key.
 */
public final class SharedBlobSource implements WorkerReplicas.ModelSource {
    private static final Logger LOG = LoggerFactory.getLogger(SharedBlobSource.class);

    private final Path root;
    private final WorkerReplicas.ModelSource controlPlane;
    /** Copies on the shared folder that did not verify (a stale or foreign mount): not copied again. */
    private final java.util.Set<Path> bad = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * @param root the control plane's blob folder as mounted here (its {@code blobs/}, holding {@code keyed/})
     * @param controlPlane where keys, and blobs the shared folder does not have, come from
     * @throws FactoryException INVALID_REQUEST when {@code root} is not a factory's blob folder
     */
    public SharedBlobSource(Path root, WorkerReplicas.ModelSource controlPlane) {
        this.root = requireBlobFolder(root);
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

    @Override
    public void fetchBlob(ReplicaWork work, Path target) throws IOException, InterruptedException {
        Path shared = BlobStore.pathIn(root, work.owner(), work.sha256());
        if (bad.contains(shared)) {
            LOG.info("the shared blob folder's copy of {} did not verify before; fetching it from the control plane",
                    work.model());
        } else if (Files.isRegularFile(shared)) {
            try {
                Files.copy(shared, target, StandardCopyOption.REPLACE_EXISTING);
                LOG.info("copied the blob of {} from the shared blob folder {}", work.model(), root);
                return;
            } catch (IOException e) {
                LOG.warn("cannot copy the blob of {} from the shared blob folder ({}); fetching it from the control "
                        + "plane", work.model(), e.getMessage());
            }
        } else {
            LOG.info("the shared blob folder {} has no blob of {}; fetching it from the control plane", root,
                    work.model());
        }
        controlPlane.fetchBlob(work, target);
    }

    /** A copy from the shared folder that did not verify: the next fetch of it comes from the control plane. */
    @Override
    public boolean fetchedBadBlob(ReplicaWork work) {
        return bad.add(BlobStore.pathIn(root, work.owner(), work.sha256()));
    }

    @Override
    public DataKey fetchKey(ReplicaWork work) throws IOException, InterruptedException {
        return controlPlane.fetchKey(work);
    }
}
