package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.identity.Principal;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.tls.ClusterCa;
import ai.factory.storage.Sha256;
import ai.factory.storage.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nodes of a multi-machine factory. A worker joins with a join token and a certificate request for a key it
 * keeps; the control plane checks the token (taking one of its uses), issues the node a client certificate from the
 * cluster CA, and records the node with that certificate's serial and fingerprint, by which every later call of the
 * worker is known, and refused once the node is removed. Every join, refusal, drain and removal is audited.
 *
 * <p>Joining needs a database that several control-plane processes can share (PostgreSQL): the embedded H2 is one
 * process's, so a factory on it refuses workers, saying so.
 */
public final class Nodes {
    private static final Logger LOG = LoggerFactory.getLogger(Nodes.class);
    public static final String AUDIT_JOINED = "node.joined";
    public static final String AUDIT_JOIN_REFUSED = "node.joinRefused";
    public static final String AUDIT_DRAINED = "node.drained";
    public static final String AUDIT_RESUMED = "node.resumed";
    public static final String AUDIT_LEAVING = "node.leaving";
    public static final String AUDIT_REMOVED = "node.removed";
    public static final String AUDIT_CERTIFICATE_REFUSED = "node.certificateRefused";
    /** What a node may be called: a DNS label, as host names are. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final String COLUMNS = "id, name, state, certificate_serial, certificate_sha256, "
            + "certificate_expires_at, join_token, address, version, inventory, joined_at, last_seen_at, removed_at, serving_port";
    private static final int MAX_INVENTORY = 256 * 1024;

    private final Jdbi jdbi;
    private final JoinTokens tokens;
    private final Supplier<ClusterCa> ca;
    private final boolean shared;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    /** Every node, as {@link #recent} reads it: the scheduler looks often, at many nodes. */
    private final ai.factory.storage.ReadCache<String, List<Node>> snapshot;

    /**
     * @param ca the cluster CA, created at the first join
     */
    public Nodes(Jdbi jdbi, JoinTokens tokens, Supplier<ClusterCa> ca, Consumer<AuditEvent> audit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.ca = requireNonNull(ca, "ca is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.shared = !Sql.isH2(jdbi);
        this.snapshot = new ai.factory.storage.ReadCache<>(clock, RECENT);
    }

    /** How old {@link #recent}'s answer may be: far below the heartbeat deadline, which is a second at least. */
    static final java.time.Duration RECENT = java.time.Duration.ofMillis(250);

    /**
     * Every node, as {@link #list} answers, read at most {@link #RECENT} ago (changes made through this process are
     * seen at once): for the scheduler, which looks at every node for every replica it places.
     */
    public List<Node> recent() {
        return snapshot.get("all", k -> Optional.of(list())).orElseThrow();
    }

    /**
     * What a joining worker sends.
     *
     * @param csr a PEM PKCS#10 request signed by the key the worker keeps
     * @param inventory the worker's CPUs, memory and accelerators (JSON, as {@code GET /api/v1/fleet} writes a node)
     * @param address where the call came from
     */
    public record JoinRequest(String token, String name, String csr, String version, String inventory, String address) {}

    /** A node that joined, with its certificate chain (PEM) and the cluster CA's certificate (PEM). */
    public record Joined(Node node, String certificate, String clusterCa) {}

    /**
     * Joins a worker. Refused, and audited with the reason: on H2 (CONFLICT), with a token that is not valid
     * (UNAUTHENTICATED, the same answer whatever was wrong with it), or with a bad name or request (INVALID_REQUEST,
     * the token's use not taken).
     */
    public Joined join(JoinRequest request) {
        requireNonNull(request, "request is null");
        String who = request.name() == null ? "" : request.name();
        if (!shared) {
            refuse(request, "the database is the embedded H2");
            throw new FactoryException(ErrorCode.CONFLICT, "this factory keeps its metadata in the embedded H2 "
                    + "database, which one process opens: a factory with workers needs PostgreSQL (database.url), "
                    + "so that control-plane replicas and the cluster share it");
        }
        if (!NAME.matcher(who).matches()) {
            refuse(request, "bad name");
            throw FactoryException.invalidParam("name", "a node name is a DNS label: 1-63 lowercase letters, digits "
                    + "and '-', starting and ending with a letter or digit");
        }
        if (request.inventory() == null || request.inventory().length() > MAX_INVENTORY) {
            refuse(request, "inventory missing or too large");
            throw FactoryException.invalidParam("inventory", "'inventory' is required, at most 256 KiB of JSON");
        }
        if (request.version() == null || request.version().isBlank() || request.version().length() > 64) {
            refuse(request, "bad version");
            throw FactoryException.invalidParam("version", "'version' is required, at most 64 characters");
        }
        String id = "node-" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        java.util.concurrent.atomic.AtomicReference<String> refusal = new java.util.concurrent.atomic.AtomicReference<>("");
        java.util.concurrent.atomic.AtomicReference<ClusterCa.@Nullable Issued> certificate =
                new java.util.concurrent.atomic.AtomicReference<>();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        // The token first: nothing is signed (nor the cluster CA made) for a caller without a good one. Its use and
        // the node's row commit together, so a join that fails later (a bad request, say) takes no use.
        Optional<Node> joined;
        try {
            joined = jdbi.inTransaction(h -> {
                JoinTokens.Redeemed redeemed = tokens.redeem(h, request.token());
                if (redeemed.tokenId().isEmpty()) {
                    refusal.set(redeemed.reason());
                    return Optional.<Node>empty();
                }
                ClusterCa.Issued issued = ca.get().issue(id, request.csr(), names(request.address()));
                certificate.set(issued);
                Node created = new Node(id, who, NodeState.READY, issued.serial(), fingerprint(issued.certificate()),
                        issued.expiresAt(), redeemed.tokenId().get(), clip(request.address(), 100), request.version(),
                        request.inventory(), now, now, null, 0);
                h.createUpdate("INSERT INTO cluster_nodes (" + COLUMNS + ") VALUES (:id, :name, :state, :serial, "
                                + ":sha, :expires, :token, :address, :version, :inventory, :joined, :seen, NULL, 0)")
                        .bind("id", created.id()).bind("name", created.name()).bind("state", created.state().name())
                        .bind("serial", created.certificateSerial()).bind("sha", created.certificateSha256())
                        .bind("expires", Timestamp.from(created.certificateExpiresAt()))
                        .bind("token", created.joinToken()).bind("address", created.address())
                        .bind("version", created.version()).bind("inventory", created.inventory())
                        .bind("joined", Timestamp.from(now)).bind("seen", Timestamp.from(now)).execute();
                return Optional.of(created);
            });
        } catch (FactoryException e) {
            refuse(request, e.getMessage());
            throw e;
        }
        if (joined.isEmpty()) {
            refuse(request, refusal.get());
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "the join token is not valid: it is unknown, "
                    + "expired, used up or revoked; create one with factory nodes token create");
        }
        ClusterCa.Issued issued = java.util.Objects.requireNonNull(certificate.get());
        Node node = joined.get();
        record(node.id(), node.name(), AUDIT_JOINED, AuditEvent.ALLOW, AuditEvent.SUCCESS, "token " + node.joinToken()
                + ", from " + node.address() + ", version " + node.version() + ", certificate " + node.certificateSerial());
        LOG.info("node {} ({}) joined from {} with token {}", node.id(), node.name(), node.address(), node.joinToken());
        return new Joined(node, issued.pem(), ai.factory.security.tls.Pem.certificates(List.of(ca.get().certificate())));
    }

    public List<Node> list() {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM cluster_nodes ORDER BY joined_at")
                .map((rs, ctx) -> node(rs)).list());
    }

    public Node get(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM cluster_nodes WHERE id = :id")
                        .bind("id", id).map((rs, ctx) -> node(rs)).findFirst())
                .orElseThrow(() -> new FactoryException(ErrorCode.NOT_FOUND, "node " + id + " does not exist"));
    }

    /** Stops giving a node new work; what it runs stays. CONFLICT for a removed node. */
    public Node drain(String id, Principal by) {
        Node node = get(id);
        if (node.state() == NodeState.REMOVED) {
            throw new FactoryException(ErrorCode.CONFLICT, "node " + id + " was removed");
        }
        setState(id, NodeState.DRAINING, null);
        record(id, by.id(), AUDIT_DRAINED, AuditEvent.ALLOW, AuditEvent.SUCCESS, "by " + by.name());
        return get(id);
    }

    /**
     * Gives a drained node new work again (after its upgrade, say): ready from now on. Idempotent for a ready node;
     * CONFLICT for a removed one, which joins again with a new token instead.
     */
    public Node resume(String id, Principal by) {
        Node node = get(id);
        if (node.state() == NodeState.REMOVED) {
            throw new FactoryException(ErrorCode.CONFLICT, "node " + id + " was removed; a machine that should come "
                    + "back joins again with a new token");
        }
        if (node.state() != NodeState.READY) {
            setState(id, NodeState.READY, null);
            record(id, by.id(), AUDIT_RESUMED, AuditEvent.ALLOW, AuditEvent.SUCCESS, "by " + by.name());
        }
        return get(id);
    }

    /**
     * The worker of node {@code id} is stopping (an upgrade, a reboot): it takes nothing new and its replicas move, as
     * when drained; it becomes ready again by itself when it starts again ({@link #heartbeat} with {@code starting}).
     * A drained node stays drained.
     */
    public Node leaving(String id) {
        Node node = get(id);
        if (node.state() == NodeState.READY) {
            setState(id, NodeState.LEAVING, null);
            record(id, id, AUDIT_LEAVING, AuditEvent.ALLOW, AuditEvent.SUCCESS, "the worker is stopping; its replicas "
                    + "move to other workers");
            LOG.info("node {} ({}) is leaving: its worker is stopping; its replicas move", id, node.name());
        }
        return get(id);
    }

    /** Removes a node for good: its certificate is refused from now on. Idempotent. */
    public Node remove(String id, Principal by) {
        Node node = get(id);
        if (node.state() != NodeState.REMOVED) {
            setState(id, NodeState.REMOVED, clock.instant());
            record(id, by.id(), AUDIT_REMOVED, AuditEvent.ALLOW, AuditEvent.SUCCESS, "by " + by.name()
                    + "; certificate " + node.certificateSerial() + " refused from now on");
            LOG.info("node {} ({}) removed by {}", id, node.name(), by.name());
        }
        return get(id);
    }

    /**
     * Records a heartbeat of node {@code id}: it was seen now, with this version and inventory. Returns the node as it
     * stands (its state tells a worker whether it is drained).
     */
    public Node heartbeat(String id, String version, String inventory, int servingPort) {
        return heartbeat(id, version, inventory, servingPort, false);
    }

    /**
     * As above; {@code starting}: the worker's first heartbeat since it started, which ends its {@code leaving} (it
     * stopped, and is back).
     */
    public Node heartbeat(String id, String version, String inventory, int servingPort, boolean starting) {
        if (inventory.length() > MAX_INVENTORY || version.isBlank() || version.length() > 64) {
            throw FactoryException.invalidParam("inventory", "a heartbeat carries a version of at most 64 characters "
                    + "and at most 256 KiB of inventory");
        }
        if (servingPort < 0 || servingPort > 65_535) {
            throw FactoryException.invalidParam("servingPort", "'servingPort' must be a port number, or 0 for none");
        }
        jdbi.useHandle(h -> h.createUpdate("UPDATE cluster_nodes SET last_seen_at = :now, version = :version, "
                        + "inventory = :inventory, serving_port = :port WHERE id = :id AND state <> :removed")
                .bind("now", Timestamp.from(clock.instant())).bind("version", version).bind("inventory", inventory)
                .bind("port", servingPort)
                .bind("removed", NodeState.REMOVED.name()).bind("id", id).execute());
        Node node = get(id);
        if (starting && node.state() == NodeState.LEAVING) {
            setState(id, NodeState.READY, null);
            record(id, id, AUDIT_RESUMED, AuditEvent.ALLOW, AuditEvent.SUCCESS, "by the worker, started again after "
                    + "it left");
            LOG.info("node {} ({}) is back and takes work again", id, node.name());
            return get(id);
        }
        return node;
    }

    /** Whether a node counts as up: in the cluster and heard from within {@code deadline}. */
    public boolean up(Node node, java.time.Duration deadline) {
        return node.state() != NodeState.REMOVED && !node.lastSeenAt().plus(deadline).isBefore(clock.instant());
    }

    /** Audits a call of the cluster endpoint that presented a certificate of no node in the cluster. */
    public void refusedCertificate(java.security.cert.X509Certificate certificate, String address) {
        record("", certificate.getSubjectX500Principal().getName(), AUDIT_CERTIFICATE_REFUSED, AuditEvent.DENY,
                AuditEvent.FAILURE, "from " + address + ": certificate " + certificate.getSerialNumber().toString(16)
                        + " belongs to no node in the cluster (removed, or never joined)");
        LOG.warn("the cluster endpoint refused certificate {} from {}: no node in the cluster holds it",
                certificate.getSerialNumber().toString(16), address);
    }

    /**
     * The node a client certificate belongs to, while the node is in the cluster: the certificate must be the one
     * recorded for it (same fingerprint), and the node not removed.
     */
    public Optional<Node> authenticate(java.security.cert.X509Certificate certificate) {
        String fingerprint = fingerprint(certificate);
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM cluster_nodes WHERE certificate_sha256 "
                        + "= :sha").bind("sha", fingerprint).map((rs, ctx) -> node(rs)).findFirst())
                .filter(n -> n.state() != NodeState.REMOVED);
    }

    /** A certificate's SHA-256, in lower-case hexadecimal: how the node's row names it. */
    private static String fingerprint(java.security.cert.X509Certificate certificate) {
        try {
            return Sha256.hex(certificate.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a certificate without an encoding", e);
        }
    }

    private void setState(String id, NodeState state, @Nullable Instant removedAt) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE cluster_nodes SET state = :state, removed_at = :removed WHERE id = :id")
                .bind("state", state.name()).bind("removed", removedAt == null ? null : Timestamp.from(removedAt))
                .bind("id", id).execute());
        snapshot.invalidateAll();
    }

    private void refuse(JoinRequest request, String reason) {
        record("", request.name() == null ? "" : request.name(), AUDIT_JOIN_REFUSED, AuditEvent.DENY,
                AuditEvent.FAILURE, "from " + request.address() + ": " + reason);
        LOG.warn("a worker's join from {} was refused: {}", request.address(), reason);
    }

    private void record(String nodeId, String name, String action, String decision, String outcome, String detail) {
        audit.accept(new AuditEvent(clock.instant(), nodeId.isEmpty() ? "worker" : nodeId, name, Principal.DEFAULT_PROJECT,
                action, nodeId.isEmpty() ? "node" : "node=" + nodeId, decision, outcome, 0, "factory", nodeId, 0, 0, 0,
                0, detail));
    }

    private static String clip(@Nullable String s, int max) {
        String v = s == null ? "" : s;
        return v.length() <= max ? v : v.substring(0, max);
    }

    private static Node node(ResultSet rs) throws SQLException {
        Timestamp removed = rs.getTimestamp(13);
        return new Node(rs.getString(1), rs.getString(2), NodeState.valueOf(rs.getString(3)), rs.getString(4),
                rs.getString(5), rs.getTimestamp(6).toInstant(), rs.getString(7), rs.getString(8), rs.getString(9),
                rs.getString(10), rs.getTimestamp(11).toInstant(), rs.getTimestamp(12).toInstant(),
                removed == null ? null : removed.toInstant(), rs.getInt(14));
    }

    /**
     * The names a node's certificate is issued for: the address the control plane dials it at, and only that. Not the
     * name the node chose: a node named like the control plane's host could otherwise pose as its cluster endpoint.
     */
    private static java.util.Set<String> names(@Nullable String address) {
        return address != null && ai.factory.config.TlsConfig.isIpLiteral(address) ? java.util.Set.of(address)
                : java.util.Set.of();
    }
}
