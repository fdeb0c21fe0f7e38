package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.api.ApiFamily;
import ai.factory.api.Authentication;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.NodeWire;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.JoinToken;
import ai.factory.cluster.JoinTokens;
import ai.factory.cluster.Node;
import ai.factory.cluster.Leadership;
import ai.factory.cluster.Nodes;
import ai.factory.config.ClusterConfig;
import ai.factory.config.Units;
import ai.factory.security.Action;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The machines of a multi-node factory: join tokens ({@code /api/v1/nodes/tokens}, site admins), the nodes
 * ({@code /api/v1/nodes}: listed to whoever may read the fleet; drained and removed by site admins), and
 * {@code POST /cluster/v1/join}, where a worker trades a join token and a certificate request for its node's client
 * certificate.
 */
public final class NodesResource implements Routes {
    private static final Duration DEFAULT_LIFETIME = Duration.ofHours(1);

    private final JoinTokens tokens;
    private final Nodes nodes;
    private final Leadership leadership;
    private final Assignments assignments;
    private final ClusterConfig cluster;
    private final IntSupplier clusterPort;
    private final Clock clock;

    /** {@code clusterPort}: the port the cluster endpoint listens on, once it does. */
    public NodesResource(JoinTokens tokens, Nodes nodes, Assignments assignments, Leadership leadership,
                         ClusterConfig cluster, IntSupplier clusterPort, Clock clock) {
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.nodes = requireNonNull(nodes, "nodes is null");
        this.assignments = requireNonNull(assignments, "assignments is null");
        this.cluster = requireNonNull(cluster, "cluster is null");
        this.clusterPort = requireNonNull(clusterPort, "clusterPort is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.post("/api/v1/nodes/tokens", Action.MANAGE_NODES, Contract.of("Create a join token for workers (its "
                + "secret is shown once)", NodeWire.CreateToken.class, NodeWire.CreatedToken.class), this::createToken);
        routes.get("/api/v1/nodes/tokens", Action.MANAGE_NODES, Contract.of("List join tokens", null,
                NodeWire.TokenList.class), ctx -> ctx.json(new NodeWire.TokenList(tokens.list().stream()
                        .map(this::token).toList())));
        routes.delete("/api/v1/nodes/tokens/{id}", Action.MANAGE_NODES, Contract.of("Revoke a join token", null,
                NodeWire.Token.class), ctx -> ctx.json(token(tokens.revoke(ctx.pathParam("id")))));
        routes.get("/api/v1/nodes", Action.READ_FLEET, Contract.of("The nodes that joined, with their state", null,
                NodeWire.NodeList.class), ctx -> {
                    // Every node's replicas in one query, not one per node.
                    java.util.Map<String, List<ai.factory.cluster.ReplicaWork>> replicas = assignments.byNode();
                    java.time.Instant now = clock.instant();
                    ctx.json(new NodeWire.NodeList(nodes.list().stream()
                            .map(n -> node(n, replicas.getOrDefault(n.id(), List.of()))).toList(),
                            cluster.port().isEmpty() ? List.of() : leadership.all().stream().map(c ->
                                    new NodeWire.ControlPlane(c.id(), c.clusterUrl().toString(), c.leader(),
                                            c.seenAt().plus(cluster.heartbeatDeadline()).isBefore(now) ? "down" : "up",
                                            c.startedAt().toString(), c.seenAt().toString())).toList()));
                });
        routes.get("/api/v1/nodes/{id}", Action.READ_FLEET, Contract.of("A node", null, NodeWire.Node.class),
                ctx -> ctx.json(node(nodes.get(ctx.pathParam("id")))));
        routes.post("/api/v1/nodes/{id}/drain", Action.MANAGE_NODES, Contract.of("Stop giving a node new work", null,
                NodeWire.Node.class), ctx -> ctx.json(node(nodes.drain(ctx.pathParam("id"),
                        Authentication.principal(ctx)))));
        routes.post("/api/v1/nodes/{id}/resume", Action.MANAGE_NODES, Contract.of("Give a drained node new work "
                + "again", null, NodeWire.Node.class), ctx -> ctx.json(node(nodes.resume(ctx.pathParam("id"),
                        Authentication.principal(ctx)))));
        routes.delete("/api/v1/nodes/{id}", Action.MANAGE_NODES, Contract.of("Remove a node: its certificate is "
                + "refused from then on", null, NodeWire.Node.class), ctx -> ctx.json(node(nodes.remove(
                        ctx.pathParam("id"), Authentication.principal(ctx)))));
        routes.postAuthenticatedByBody(ApiFamily.CLUSTER_JOIN, Contract.of("A worker joins with a join token and a "
                + "certificate request", NodeWire.Join.class, NodeWire.Joined.class), this::join);
    }

    private void createToken(Context ctx) {
        requireTakesWorkers(); // a token nobody could use is a trap
        NodeWire.CreateToken body = WireJson.read(ctx.bodyAsBytes(), NodeWire.CreateToken.class);
        Duration lifetime;
        try {
            lifetime = body.expires() == null ? DEFAULT_LIFETIME : Units.parseDuration(body.expires());
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam("expires", "'expires' is a duration such as 1h or 7d: " + e.getMessage());
        }
        JoinTokens.Created created = tokens.create(lifetime, body.uses() == null ? 1 : body.uses(),
                Authentication.principal(ctx));
        ctx.status(201).json(new NodeWire.CreatedToken(created.token().id(), created.secret(),
                created.token().expiresAt(), created.token().usesLeft()));
    }

    /** CONFLICT on a factory started without {@code cluster.port}: no worker could join it. */
    private void requireTakesWorkers() {
        if (cluster.port().isEmpty()) {
            throw new FactoryException(ErrorCode.CONFLICT, "this factory takes no workers: start it with "
                    + "cluster.port (factory up --cluster-port PORT) on PostgreSQL; see docs/cluster.md");
        }
    }

    private void join(Context ctx) {
        requireTakesWorkers();
        NodeWire.Join body = WireJson.read(ctx.bodyAsBytes(), NodeWire.Join.class);
        if (!body.inventory().isObject()) {
            throw FactoryException.invalidParam("inventory", "'inventory' must be an object");
        }
        Nodes.Joined joined = nodes.join(new Nodes.JoinRequest(body.token(), body.name(), body.csr(), body.version(),
                body.inventory().toString(), ctx.ip()));
        ctx.status(201).json(new NodeWire.Joined(node(joined.node()), joined.certificate(), joined.clusterCa(),
                clusterPort.getAsInt(), cluster.heartbeatInterval().toMillis()));
    }

    private NodeWire.Token token(JoinToken t) {
        return new NodeWire.Token(t.id(), t.createdAt(), t.expiresAt(), t.usesLeft(), t.uses(), t.revoked(),
                t.usable(clock.instant()), t.createdBy());
    }

    private NodeWire.Node node(Node n) {
        return node(n, assignments.forNode(n.id()));
    }

    private NodeWire.Node node(Node n, List<ai.factory.cluster.ReplicaWork> assigned) {
        JsonNode inventory;
        try {
            inventory = WireJson.tree(n.inventory().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (FactoryException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "node " + n.id() + " has an unreadable inventory");
        }
        Map<String, ai.factory.engine.EngineLoad> loads = assignments.loadsOfNode(n.id());
        List<NodeWire.Replica> replicas = assigned.stream().map(w -> {
            Optional<Assignments.Reported> r = assignments.reported(w.assignment());
            return new NodeWire.Replica(w.assignment(), w.deployment(), w.replica(), w.model(),
                    r.map(x -> x.phase().name().toLowerCase(java.util.Locale.ROOT)).orElse("assigned"),
                    r.map(Assignments.Reported::detail).orElse(""),
                    loads.containsKey(w.assignment()) ? NodeWire.Load.of(loads.get(w.assignment())) : null);
        }).toList();
        return new NodeWire.Node(n.id(), n.name(), n.state().id(), nodes.up(n, cluster.heartbeatDeadline()) ? "up"
                : "down", n.address(), n.version(), n.joinedAt(),
                n.lastSeenAt(), n.removedAt(), n.joinToken(), n.certificateSerial(), n.certificateSha256(),
                n.certificateExpiresAt(), inventory, replicas);
    }
}
