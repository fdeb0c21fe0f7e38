package ai.factory.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Each state a killed process can leave in the blob store, and what the start-up sweep makes of it. */
class BlobSweepTest {
    @TempDir
    Path root;

    private final Set<BlobSweep.Blob> keyed = new HashSet<>();
    private final Set<BlobSweep.Blob> referenced = new HashSet<>();
    private final List<BlobSweep.Blob> forgotten = new ArrayList<>();

    @Test
    void aConsistentStoreIsLeftAsItIs() {
        BlobStore store = new BlobStore(root);
        BlobSweep.Blob kept = put(store, "alpha", "kept", true, true);

        BlobSweep.Report report = sweep(store);

        assertThat(report.clean()).isTrue();
        assertThat(report.bytesFreed()).isZero();
        assertThat(store.exists(kept.owner(), kept.sha256())).isTrue();
        assertThat(forgotten).isEmpty();
    }

    @Test
    void aFileWhoseKeyWasNeverRecordedIsDeleted() throws Exception {
        BlobStore store = new BlobStore(root);
        BlobSweep.Blob kept = put(store, "alpha", "kept", true, true);
        BlobSweep.Blob renamedThenKilled = put(store, "alpha", "renamed, then killed", false, false);
        long size = Files.size(store.path(renamedThenKilled.owner(), renamedThenKilled.sha256()));

        BlobSweep.Report report = sweep(store);

        assertThat(report.unkeyed()).isEqualTo(new BlobStore.Removed(1, size));
        assertThat(store.exists(renamedThenKilled.owner(), renamedThenKilled.sha256())).isFalse();
        assertThat(store.exists(kept.owner(), kept.sha256())).isTrue();
        assertThat(report.summary()).contains("1 blob file(s) whose key was never recorded (" + size + " bytes)");
    }

    @Test
    void aKeyedBlobNothingNamesLosesItsKeyThenItsFile() throws Exception {
        BlobStore store = new BlobStore(root);
        BlobSweep.Blob deletedThenKilled = put(store, "beta", "delete committed, then killed", true, false);
        long size = Files.size(store.path(deletedThenKilled.owner(), deletedThenKilled.sha256()));

        BlobSweep.Report report = sweep(store);

        assertThat(forgotten).containsExactly(deletedThenKilled);
        assertThat(report.unreferenced()).isEqualTo(new BlobStore.Removed(1, size));
        assertThat(store.exists(deletedThenKilled.owner(), deletedThenKilled.sha256())).isFalse();
    }

    @Test
    void stagingFilesAreDeletedAndCounted() throws Exception {
        BlobStore store = new BlobStore(root);
        Files.write(root.resolve("tmp").resolve("import-1.tmp"), new byte[4096]);
        Files.write(root.resolve("tmp").resolve("import-2.tmp"), new byte[100]);

        BlobSweep.Report report = sweep(store);

        assertThat(report.staging()).isEqualTo(new BlobStore.Removed(2, 4196));
        assertThat(report.bytesFreed()).isEqualTo(4196);
        assertThat(root.resolve("tmp")).isEmptyDirectory();
    }

    @Test
    void aBlobInUseWhoseFileIsGoneIsReportedAndItsKeyKept() throws Exception {
        BlobStore store = new BlobStore(root);
        BlobSweep.Blob lost = put(store, "alpha", "lost", true, true);
        Files.delete(store.path(lost.owner(), lost.sha256()));

        BlobSweep.Report report = sweep(store);

        assertThat(report.missing()).containsExactly(lost);
        assertThat(report.clean()).isFalse();
        assertThat(forgotten).isEmpty();
        assertThat(report.summary()).contains("1 blob(s) in use are missing from the disk [alpha/" + lost.sha256() + "]");
    }

    @Test
    void filesThatAreNotBlobsAreLeftAlone() throws Exception {
        BlobStore store = new BlobStore(root);
        Path stray = root.resolve("keyed").resolve("alpha").resolve("notes.txt");
        Files.createDirectories(stray.getParent());
        Files.writeString(stray, "an operator's note");

        assertThat(sweep(store).clean()).isTrue();
        assertThat(stray).exists();
    }

    private BlobSweep.Report sweep(BlobStore store) {
        return BlobSweep.sweep(store, keyed, referenced, forgotten::add);
    }

    private BlobSweep.Blob put(BlobStore store, String owner, String text, boolean keyRecorded, boolean inUse) {
        BlobStore.StoredBlob stored = store.put(owner, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        BlobSweep.Blob blob = new BlobSweep.Blob(owner, stored.ref().sha256());
        if (keyRecorded) {
            keyed.add(blob);
        }
        if (inUse) {
            referenced.add(blob);
        }
        return blob;
    }
}
