package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import ai.factory.storage.Sql;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail's write-ahead for calls: a call is written here when it is admitted, before its handler does
 * anything that lasts (an inference call's handler reads its body and prepares its prompt meanwhile, and waits for
 * the write before it queues the call on a replica), and leaves once its record is in the chain. A process that dies
 * (a kill, a power cut on PostgreSQL) leaves its calls here, and the next start closes each as a record with outcome
 * {@value #INTERRUPTED}, so that no call that ran leaves no trace.
 *
 * <p>The chain is written asynchronously (in batches, by {@link AuditLog}'s writer), so a call leaves only once a
 * record with its request id and time is committed: a settling pass deletes those every few seconds, and at start.
 * Admission is one insert that the call waits for; nothing else is added to a call's path.
 *
 * <p>Each process is a node: it closes only its own leftovers (a node is its host and home), so replicas sharing
 * PostgreSQL do not close each other's calls in flight.
 */
public final class CallJournal implements AutoCloseable {
    public static final String INTERRUPTED = "interrupted";
    private static final Logger LOG = LoggerFactory.getLogger(CallJournal.class);
    private static final Duration SETTLE_EVERY = Duration.ofSeconds(5);

    private final Jdbi jdbi;
    private final String node;
    private final Thread settler;
    private final boolean h2;

    public CallJournal(Jdbi jdbi, String node) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.h2 = Sql.isH2(jdbi);
        this.node = requireNonNull(node, "node is null");
        this.settler = Thread.ofVirtual().name("audit-journal").unstarted(this::settleForever);
    }

    /** Starts the settling pass; call once the writer is running. */
    public CallJournal start() {
        settler.start();
        return this;
    }

    /**
     * Notes an admitted call, what its record says if it never ends: who, what, on which resource, allowed, and
     * outcome {@value #INTERRUPTED}.
     *
     * @return the entry's id, to {@link #forget} if the call's record is dropped instead of written
     */
    public String admit(AuditEvent admitted) {
        String id = UUID.randomUUID().toString();
        String event;
        try {
            event = Json.mapper().writeValueAsString(admitted);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an audit event is plain data", e);
        }
        jdbi.useHandle(h -> {
            h.createUpdate("INSERT INTO audit_pending (id, node, request_id, at, event) "
                            + "VALUES (:id, :node, :rid, :at, :event)")
                    .bind("id", id).bind("node", node).bind("rid", admitted.requestId())
                    .bind("at", Timestamp.from(admitted.at())).bind("event", event).execute();
            if (h2) {
                // Embedded H2 stores a commit from a background thread, so a kill moments later loses it
                // (AuditCrashTest); a checkpoint stores it now. It is most of the write's time (a few milliseconds),
                // which is why inference calls write ahead while their prompts are prepared (RequestAudit).
                h.execute("CHECKPOINT");
            }
        });
        return id;
    }

    /** Removes an entry whose call will have no record after all (a request the audit does not follow). */
    public void forget(String id) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM audit_pending WHERE id = :id").bind("id", id).execute());
    }

    /** Deletes the entries whose calls' records are committed; returns how many. */
    public int settle() {
        return jdbi.withHandle(h -> h.createUpdate("DELETE FROM audit_pending WHERE EXISTS (SELECT 1 FROM audit_records r "
                + "WHERE r.request_id = audit_pending.request_id AND r.at = audit_pending.at)").execute());
    }

    /**
     * What this node left behind when it last stopped without ending its calls: each as its record, outcome
     * {@value #INTERRUPTED}, to be appended to the chain (the settling pass then removes the entries).
     */
    public List<AuditEvent> leftovers() {
        settle();
        return jdbi.withHandle(h -> h.createQuery("SELECT event FROM audit_pending WHERE node = :node ORDER BY at")
                .bind("node", node).mapTo(String.class).list()).stream().map(CallJournal::event).toList();
    }

    private static AuditEvent event(String json) {
        try {
            return Json.mapper().readValue(json, AuditEvent.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an unreadable entry in audit_pending: " + e.getOriginalMessage(), e);
        }
    }

    private void settleForever() {
        while (true) {
            try {
                Thread.sleep(SETTLE_EVERY);
                settle();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("audit: settling admitted calls failed; retrying", e);
            }
        }
    }

    /** Stops the settling pass after a last one (the audit log, closed first, has committed every record). */
    @Override
    public void close() {
        settler.interrupt();
        try {
            settler.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            settle();
        } catch (RuntimeException e) {
            LOG.warn("audit: the last settling of admitted calls failed; the next start settles them", e);
        }
    }
}
