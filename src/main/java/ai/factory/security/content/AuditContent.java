package ai.factory.security.content;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.storage.BlobStore;
import ai.factory.storage.BlobSweep;
import ai.factory.storage.Sha256;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jdbi.v3.core.Jdbi;

/**
 * The text of inference calls for projects that opted in to content logging: each call's content (its request body
 * and the generated text) is an encrypted blob of the calling project, under a data key wrapped by that project's
 * key-encryption key, exactly like the project's model weights. So rotating the project's key re-wraps it, and
 * deleting the project shreds it. The call's audit record carries the content's SHA-256 in its hashed detail, so
 * altered or swapped content does not match the chain.
 *
 * <p>Only blobs recorded here as content are ever served as content: a project's model weights are blobs of the
 * same project and must not be readable through the audit trail.
 */
public final class AuditContent {
    /** The largest content one call may log; calls are bounded by the request size and the generation limits. */
    public static final int MAX_BYTES = 64 << 20;

    private final Jdbi jdbi;
    private final BlobStore blobs;
    private final KeyHierarchy keys;

    public AuditContent(Jdbi jdbi, BlobStore blobs, KeyHierarchy keys) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.blobs = requireNonNull(blobs, "blobs is null");
        this.keys = requireNonNull(keys, "keys is null");
    }

    /** What was logged for one call. */
    public record Entry(String project, String sha256, String requestId, Instant at, byte[] content) {
        public Entry {
            requireNonNull(project, "project is null");
            requireNonNull(sha256, "sha256 is null");
            requireNonNull(requestId, "requestId is null");
            requireNonNull(at, "at is null");
            requireNonNull(content, "content is null");
        }
    }

    /**
     * Stores one call's content for {@code project}; returns its SHA-256, which the call's audit record names. The
     * content must be unique (the request audit puts a fresh id into each), so no two calls share a blob.
     */
    public String store(String project, String requestId, Instant at, byte[] content) {
        if (content.length > MAX_BYTES) {
            throw new IllegalArgumentException("content of " + content.length + " bytes is over " + MAX_BYTES);
        }
        // The project's KEK is never created here: one is made when content logging is turned on, and a project
        // deleted while this call ran must stay shredded, so the store fails (NOT_FOUND) and leaves nothing.
        BlobStore.StoredBlob stored = blobs.put(project, new ByteArrayInputStream(content));
        String sha256 = stored.ref().sha256();
        try {
            jdbi.useTransaction(h -> {
                keys.storeDataKey(h, project, sha256, stored.ref().size(), stored.key());
                h.createUpdate("INSERT INTO audit_content (owner, sha256, request_id, at, size_bytes) "
                                + "VALUES (:o, :s, :rid, :at, :size)")
                        .bind("o", project).bind("s", sha256).bind("rid", requestId).bind("at", Timestamp.from(at))
                        .bind("size", content.length).execute();
            });
        } catch (RuntimeException e) {
            blobs.delete(project, sha256);
            throw e;
        }
        return sha256;
    }

    /**
     * The content {@code project} logged under {@code sha256}.
     *
     * @throws FactoryException INVALID_REQUEST for a malformed digest; NOT_FOUND when the project logged no such
     *     content (never, or its keys were destroyed with the project)
     */
    public Entry read(String project, String sha256) {
        Sha256.require(sha256);
        var row = jdbi.withHandle(h -> h.createQuery("SELECT request_id, at FROM audit_content "
                        + "WHERE owner = :o AND sha256 = :s")
                .bind("o", project).bind("s", sha256)
                .map((rs, ctx) -> new Entry(project, sha256, rs.getString("request_id"),
                        rs.getTimestamp("at").toInstant(), new byte[0]))
                .findOne())
                .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "project '" + project
                        + "' logged no content " + sha256 + " (content logging off, another project's, past the "
                        + "site's audit.contentRetention, or shredded)"));
        try (InputStream in = Channels.newInputStream(blobs.open(project, sha256, keys.dataKey(project, sha256)))) {
            return new Entry(project, sha256, row.requestId(), row.at(), in.readNBytes(MAX_BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read logged content " + sha256 + " of " + project, e);
        }
    }

    /**
     * Retention: destroys the data key of all content logged before {@code before}, then deletes its file and its
     * row, so an expired call's text is gone even from copies of the files and backups of the blob store. Returns
     * how many calls' content went, by project.
     */
    public Map<String, Integer> expire(Instant before) {
        record Due(String project, String sha256) {}
        List<Due> due = jdbi.withHandle(h -> h.createQuery("SELECT owner, sha256 FROM audit_content WHERE at < :before "
                        + "ORDER BY at")
                .bind("before", Timestamp.from(before))
                .map((rs, ctx) -> new Due(rs.getString("owner"), rs.getString("sha256")))
                .list());
        Map<String, Integer> expired = new TreeMap<>();
        for (Due d : due) {
            jdbi.useTransaction(h -> {
                keys.deleteDataKey(h, d.project(), d.sha256());
                h.createUpdate("DELETE FROM audit_content WHERE owner = :o AND sha256 = :s")
                        .bind("o", d.project()).bind("s", d.sha256()).execute();
            });
            blobs.delete(d.project(), d.sha256());
            expired.merge(d.project(), 1, Integer::sum);
        }
        return expired;
    }

    /** Destroys one piece of content now: its data key, then its row and file. False when there was none. */
    public boolean delete(String project, String sha256) {
        Sha256.require(sha256);
        boolean deleted = jdbi.inTransaction(h -> {
            int rows = h.createUpdate("DELETE FROM audit_content WHERE owner = :o AND sha256 = :s")
                    .bind("o", project).bind("s", sha256).execute();
            if (rows > 0) {
                keys.deleteDataKey(h, project, sha256);
            }
            return rows > 0;
        });
        if (deleted) {
            blobs.delete(project, sha256);
        }
        return deleted;
    }

    /** The blob of every call's logged content, for the start-up sweep. */
    public java.util.Set<BlobSweep.Blob> referencedBlobs() {
        return jdbi.withHandle(h -> h.createQuery("SELECT owner, sha256 FROM audit_content")
                .map((rs, ctx) -> new BlobSweep.Blob(rs.getString(1), rs.getString(2))).set());
    }

    /** Forgets a deleted project's content rows (its keys and files go with the project's own). */
    public void projectDeleted(String project) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM audit_content WHERE owner = :o").bind("o", project).execute());
    }
}
