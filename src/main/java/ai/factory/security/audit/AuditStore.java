package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;

/**
 * The audit tables: appending to the chain and sealing it with digests (in one transaction, {@link #inChain}),
 * reading back for verification ({@link AuditSource}) and queries.
 */
public final class AuditStore implements AuditSource {
    private static final String COLUMNS = "seq, at, principal_id, principal_name, project, action, resource, decision, "
            + "outcome, status, client, request_id, bytes_in, bytes_out, prompt_tokens, completion_tokens, detail, "
            + "prev_hash, hash";
    private static final String DIGEST_COLUMNS = "digest_version, first_seq, last_seq, record_count, first_at, "
            + "last_at, head_hash, created_at, key_id, prev_digest, cadence_every, cadence_interval_ms, closing, "
            + "records_hash, signature";

    private final Jdbi jdbi;

    public AuditStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** A pause between writing a batch and committing it; tests use it to stop a writer there, as a crash would. */
    @FunctionalInterface
    public interface BeforeCommit {
        void run(List<AuditRecord> written);
    }

    /** Work on the chain inside one transaction. */
    @FunctionalInterface
    public interface ChainWork<T> {
        T run(Chain chain);
    }

    /** Runs {@code work} in one transaction: what it appends and the digests it writes commit together or not at all. */
    public <T> T inChain(ChainWork<T> work) {
        return jdbi.inTransaction(h -> work.run(new Chain(h)));
    }

    /** A record's place in the chain: what a digest is made of. */
    public record Link(long seq, Instant at, String hash) {}

    /** The chain as one transaction sees it. */
    public static final class Chain {
        private final Handle h;

        private Chain(Handle h) {
            this.h = h;
        }

        public Optional<AuditRecord> head() {
            return AuditStore.head(h);
        }

        /**
         * Appends events after the head as committed now (so a writer that restarts, or another replica's writer,
         * carries on from whatever is really there).
         */
        public List<AuditRecord> append(List<AuditEvent> events) {
            Optional<AuditRecord> head = head();
            long seq = head.map(AuditRecord::seq).orElse(0L);
            String prev = head.map(AuditRecord::hash).orElse(AuditHashing.GENESIS);
            List<AuditRecord> written = new ArrayList<>(events.size());
            PreparedBatch batch = h.prepareBatch("INSERT INTO audit_records (" + COLUMNS + ") VALUES (:seq, :at, "
                    + ":pid, :pname, :project, :action, :resource, :decision, :outcome, :status, :client, :rid, "
                    + ":bin, :bout, :ptok, :ctok, :detail, :prev, :hash)");
            for (AuditEvent e : events) {
                seq++;
                String hash = AuditHashing.hash(seq, e, prev);
                written.add(new AuditRecord(seq, e, prev, hash));
                batch.bind("seq", seq).bind("at", Timestamp.from(e.at())).bind("pid", e.principalId())
                        .bind("pname", e.principalName()).bind("project", e.project()).bind("action", e.action())
                        .bind("resource", e.resource()).bind("decision", e.decision()).bind("outcome", e.outcome())
                        .bind("status", e.status()).bind("client", e.client()).bind("rid", e.requestId())
                        .bind("bin", e.bytesIn()).bind("bout", e.bytesOut()).bind("ptok", e.promptTokens())
                        .bind("ctok", e.completionTokens()).bind("detail", e.detail()).bind("prev", prev)
                        .bind("hash", hash).add();
                prev = hash;
            }
            if (!written.isEmpty()) {
                batch.execute();
            }
            return written;
        }

        /** The newest digest, without its record list. */
        public Optional<AuditDigest> lastDigest() {
            return AuditStore.lastDigest(h);
        }

        /** Sequence number, time and hash of the records {@code from..to}, in order. */
        public List<Link> links(long from, long to) {
            return h.createQuery("SELECT seq, at, hash FROM audit_records WHERE seq >= :from AND seq <= :to "
                            + "ORDER BY seq")
                    .bind("from", from).bind("to", to)
                    .map((rs, ctx) -> new Link(rs.getLong("seq"), rs.getTimestamp("at").toInstant(),
                            rs.getString("hash")))
                    .list();
        }

        /** When the oldest of the records from {@code from} on was made (by its own time); empty if there are none. */
        public Optional<Instant> oldestAt(long from) {
            return h.createQuery("SELECT MIN(at) AS oldest FROM audit_records WHERE seq >= :from")
                    .bind("from", from)
                    .map((rs, ctx) -> Optional.ofNullable(rs.getTimestamp("oldest")).map(Timestamp::toInstant))
                    .one();
        }

        public void insertDigest(AuditDigest d) {
            AuditDigest.Cadence cadence = d.cadence().orElseThrow(() ->
                    new IllegalArgumentException("only version 2 digests are written"));
            h.createUpdate("INSERT INTO audit_digests (" + DIGEST_COLUMNS + ", record_hashes) VALUES (:version, "
                            + ":first, :last, :count, :firstAt, :lastAt, :head, :created, :key, :prev, :every, "
                            + ":intervalMs, :closing, :recordsHash, :sig, :hashes)")
                    .bind("version", d.version()).bind("first", d.firstSeq()).bind("last", d.lastSeq())
                    .bind("count", d.count()).bind("firstAt", Timestamp.from(d.firstAt()))
                    .bind("lastAt", Timestamp.from(d.lastAt())).bind("head", d.headHash())
                    .bind("created", Timestamp.from(d.createdAt())).bind("key", d.keyId())
                    .bind("prev", d.prevDigest()).bind("every", cadence.every())
                    .bind("intervalMs", cadence.interval().toMillis()).bind("closing", d.closing())
                    .bind("recordsHash", d.recordsHash()).bind("sig", d.signature())
                    .bind("hashes", d.recordHashes().orElseThrow()).execute();
        }
    }

    public Optional<AuditRecord> head() {
        return jdbi.withHandle(AuditStore::head);
    }

    private static Optional<AuditRecord> head(Handle h) {
        return h.createQuery("SELECT " + COLUMNS + " FROM audit_records ORDER BY seq DESC LIMIT 1")
                .map((rs, ctx) -> record(rs)).findOne();
    }

    @Override
    public long headSeq() {
        return jdbi.withHandle(h -> h.createQuery("SELECT MAX(seq) FROM audit_records").mapTo(Long.class)
                .findOne().orElse(0L));
    }

    public Optional<AuditRecord> record(long seq) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM audit_records WHERE seq = :seq")
                .bind("seq", seq).map((rs, ctx) -> record(rs)).findOne());
    }

    @Override
    public List<AuditRecord> records(long from, long to, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM audit_records WHERE seq >= :from "
                        + "AND seq <= :to ORDER BY seq LIMIT :limit")
                .bind("from", from).bind("to", to).bind("limit", limit).map((rs, ctx) -> record(rs)).list());
    }

    @Override
    public Optional<long[]> seqRange(Optional<Instant> from, Optional<Instant> to) {
        StringBuilder sql = new StringBuilder("SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM audit_records WHERE 1 = 1");
        from.ifPresent(f -> sql.append(" AND at >= :from"));
        to.ifPresent(t -> sql.append(" AND at < :to"));
        return jdbi.withHandle(h -> {
            Query q = h.createQuery(sql.toString());
            from.ifPresent(f -> q.bind("from", Timestamp.from(f)));
            to.ifPresent(t -> q.bind("to", Timestamp.from(t)));
            return q.map((rs, ctx) -> rs.getObject("lo") == null ? null : new long[] {rs.getLong("lo"), rs.getLong("hi")})
                    .findOne();
        });
    }

    @Override
    public Optional<AuditDigest> lastDigest() {
        return jdbi.withHandle(AuditStore::lastDigest);
    }

    private static Optional<AuditDigest> lastDigest(Handle h) {
        return h.createQuery("SELECT " + DIGEST_COLUMNS + " FROM audit_digests ORDER BY last_seq DESC LIMIT 1")
                .map((rs, ctx) -> digest(rs, false)).findOne();
    }

    @Override
    public List<AuditDigest> digests(long fromLastSeq, long toLastSeq, int limit, boolean withRecordHashes) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + DIGEST_COLUMNS
                        + (withRecordHashes ? ", record_hashes" : "") + " FROM audit_digests WHERE last_seq >= :from "
                        + "AND last_seq <= :to ORDER BY last_seq LIMIT :limit")
                .bind("from", fromLastSeq).bind("to", toLastSeq).bind("limit", limit)
                .map((rs, ctx) -> digest(rs, withRecordHashes)).list());
    }

    public List<AuditRecord> query(AuditQuery q) {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM audit_records WHERE 1 = 1");
        q.principal().ifPresent(p -> sql.append(" AND (principal_id = :principal OR principal_name = :principal)"));
        q.project().ifPresent(p -> sql.append(" AND project = :project"));
        q.action().ifPresent(a -> sql.append(" AND action = :action"));
        q.outcome().ifPresent(o -> sql.append(" AND outcome = :outcome"));
        q.from().ifPresent(f -> sql.append(" AND at >= :from"));
        q.to().ifPresent(t -> sql.append(" AND at < :to"));
        sql.append(" ORDER BY seq DESC LIMIT :limit");
        return jdbi.withHandle(h -> {
            Query query = h.createQuery(sql.toString()).bind("limit", q.limit());
            q.principal().ifPresent(p -> query.bind("principal", p));
            q.project().ifPresent(p -> query.bind("project", p));
            q.action().ifPresent(a -> query.bind("action", a));
            q.outcome().ifPresent(o -> query.bind("outcome", o));
            q.from().ifPresent(f -> query.bind("from", Timestamp.from(f)));
            q.to().ifPresent(t -> query.bind("to", Timestamp.from(t)));
            return query.map((rs, ctx) -> record(rs)).list();
        });
    }

    /** One project's consumption of one model over a time range. */
    public record Usage(String project, String model, long requests, long failed, long promptTokens,
                        long completionTokens, long bytesIn, long bytesOut) {}

    /**
     * Inference calls ({@code invoke} records that were allowed) by project and model, with their tokens and bytes,
     * over {@code [from, to)}; for one project when given. A call that failed still counts as a request (and in
     * {@code failed}), with the tokens it used.
     */
    public List<Usage> usage(Optional<String> project, Optional<java.time.Instant> from, Optional<java.time.Instant> to) {
        StringBuilder sql = new StringBuilder("SELECT project, resource, COUNT(*) AS requests, "
                + "SUM(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failed, SUM(prompt_tokens) AS ptok, "
                + "SUM(completion_tokens) AS ctok, SUM(bytes_in) AS bin, SUM(bytes_out) AS bout FROM audit_records "
                + "WHERE action = 'invoke' AND decision = 'allow'");
        project.ifPresent(p -> sql.append(" AND project = :project"));
        from.ifPresent(f -> sql.append(" AND at >= :from"));
        to.ifPresent(t -> sql.append(" AND at < :to"));
        sql.append(" GROUP BY project, resource ORDER BY project, resource");
        return jdbi.withHandle(h -> {
            Query q = h.createQuery(sql.toString());
            project.ifPresent(p -> q.bind("project", p));
            from.ifPresent(f -> q.bind("from", Timestamp.from(f)));
            to.ifPresent(t -> q.bind("to", Timestamp.from(t)));
            return q.map((rs, ctx) -> new Usage(rs.getString("project"), modelOf(rs.getString("resource")),
                    rs.getLong("requests"), rs.getLong("failed"), rs.getLong("ptok"), rs.getLong("ctok"),
                    rs.getLong("bin"), rs.getLong("bout"))).list();
        });
    }

    /** The model an invoke record's resource names ({@code model=acme/tiny}), else the resource as it is. */
    private static String modelOf(String resource) {
        return resource.startsWith("model=") ? resource.substring("model=".length()) : resource;
    }

    /** Records of one action on one resource with one decision and outcome: how many, bytes each way, the last. */
    public record ResourceCount(String destination, String decision, String outcome, long attempts, long bytesSent,
                                long bytesReceived, Instant lastAt) {
        public ResourceCount {
            requireNonNull(destination, "destination is null");
        }
    }

    /** Count of records with {@code action}, by resource, decision and outcome (the egress ledger's summary). */
    public List<ResourceCount> countByResource(String action) {
        return jdbi.withHandle(h -> h.createQuery("SELECT resource, decision, outcome, COUNT(*) AS attempts, "
                        + "SUM(bytes_out) AS bytes_out, SUM(bytes_in) AS bytes_in, MAX(at) AS last_at "
                        + "FROM audit_records WHERE action = :action GROUP BY resource, decision, outcome "
                        + "ORDER BY resource, decision, outcome")
                .bind("action", action)
                .map((rs, ctx) -> new ResourceCount(rs.getString("resource"), rs.getString("decision"),
                        rs.getString("outcome"), rs.getLong("attempts"), rs.getLong("bytes_out"), rs.getLong("bytes_in"),
                        rs.getTimestamp("last_at").toInstant()))
                .list());
    }

    private static AuditRecord record(ResultSet rs) throws SQLException {
        AuditEvent e = new AuditEvent(rs.getTimestamp("at").toInstant(), rs.getString("principal_id"),
                rs.getString("principal_name"), rs.getString("project"), rs.getString("action"),
                rs.getString("resource"), rs.getString("decision"), rs.getString("outcome"), rs.getInt("status"),
                rs.getString("client"), rs.getString("request_id"), rs.getLong("bytes_in"), rs.getLong("bytes_out"),
                rs.getLong("prompt_tokens"), rs.getLong("completion_tokens"), rs.getString("detail"));
        return new AuditRecord(rs.getLong("seq"), e, rs.getString("prev_hash"), rs.getString("hash"));
    }

    private static AuditDigest digest(ResultSet rs, boolean withRecordHashes) throws SQLException {
        int version = rs.getInt("digest_version");
        Optional<AuditDigest.Cadence> cadence = Optional.empty();
        if (version != 1) {
            try {
                cadence = Optional.of(new AuditDigest.Cadence(rs.getInt("cadence_every"),
                        Duration.ofMillis(rs.getLong("cadence_interval_ms"))));
            } catch (IllegalArgumentException e) {
                // A row altered to a cadence no writer uses: read it as signed, let the signature check refuse it.
                cadence = Optional.of(new AuditDigest.Cadence(1, Duration.ofMillis(1)));
            }
        }
        return new AuditDigest(version == 1 ? 1 : AuditDigest.CURRENT_VERSION, rs.getLong("first_seq"),
                rs.getLong("last_seq"), rs.getLong("record_count"), rs.getTimestamp("first_at").toInstant(),
                rs.getTimestamp("last_at").toInstant(), rs.getString("head_hash"),
                rs.getTimestamp("created_at").toInstant(), rs.getString("key_id"), rs.getString("prev_digest"),
                cadence, rs.getBoolean("closing"), rs.getString("records_hash"),
                withRecordHashes ? Optional.of(rs.getString("record_hashes")) : Optional.empty(),
                rs.getString("signature"));
    }
}
