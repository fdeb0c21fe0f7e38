package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.NodeWire;
import ai.factory.cluster.Assignments;
import ai.factory.cluster.Node;
import ai.factory.cluster.ReplicaWork;
import ai.factory.models.ModelRef;
import ai.factory.models.ModelRegistry;
import ai.factory.models.ModelVersion;
import ai.factory.cluster.Nodes;
import ai.factory.config.ClusterConfig;
import ai.factory.security.tls.ServerIdentity;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The endpoint workers call once they joined: mutual TLS only, on {@code cluster.port}. The server presents a
 * certificate from the cluster CA; a client must present one from the same CA, and then one that a node in the
 * cluster holds (a removed node's certificate is refused, and the refusal audited). {@code POST
 * /cluster/v1/heartbeat} records that the node is alive, with its version, inventory and replicas, and answers the
 * replicas it is to run; {@code GET /cluster/v1/assignments/{id}/blob} and {@code POST …/key} give a node the
 * encrypted model and the data key of one of its own replicas, and no other.
 */
public final class ClusterServer implements AutoCloseable {
    static final String HEARTBEAT = "/cluster/v1/heartbeat";
    static final String LEAVING = "/cluster/v1/leaving";
    static final String ASSIGNMENT = "/cluster/v1/assignments/{id}";
    private static final String CLIENT_CERTIFICATES = "jakarta.servlet.request.X509Certificate";

    private final Javalin app;

    /**
     * @param host the address to bind
     * @param identity the endpoint's certificate (issued by {@code clusterCa}) and key
     */
    public ClusterServer(String host, ClusterConfig config, ServerIdentity identity, X509Certificate clusterCa,
                         Nodes nodes, Assignments assignments, ModelRegistry registry,
                         java.util.function.Supplier<List<java.net.URI>> controlPlanes) {
        requireNonNull(host, "host is null");
        requireNonNull(config, "config is null");
        requireNonNull(identity, "identity is null");
        requireNonNull(clusterCa, "clusterCa is null");
        requireNonNull(nodes, "nodes is null");
        requireNonNull(assignments, "assignments is null");
        requireNonNull(registry, "registry is null");
        this.app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.jsonMapper(new JavalinJackson(Json.mapper(), true));
            c.http.maxRequestSize = 1L << 20;
            c.startup.showJavalinBanner = false;
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector = mutualTls(server, http, identity, clusterCa);
                connector.setHost(host);
                connector.setPort(config.port().orElse(0));
                return connector;
            });
            c.routes.exception(Exception.class, ErrorResponses::handle);
            // The worker is stopping: its replicas move (see Nodes.leaving); answered with the node as it now stands.
            c.routes.post(LEAVING, ctx -> {
                Node node = node(ctx, nodes);
                Node now = nodes.leaving(node.id());
                long others = nodes.recent().stream().filter(n -> !n.id().equals(node.id())
                        && n.state() == ai.factory.cluster.NodeState.READY && n.servingPort() > 0
                        && nodes.up(n, config.heartbeatDeadline())).count();
                ctx.json(java.util.Map.of("state", now.state().id(), "othersServing", others));
            });
            c.routes.post(HEARTBEAT, ctx -> {
                Node node = node(ctx, nodes);
                NodeWire.Heartbeat body = WireJson.read(ctx.bodyAsBytes(), NodeWire.Heartbeat.class);
                Node seen = nodes.heartbeat(node.id(), body.version(), body.inventory().toString(), body.servingPort(),
                        Boolean.TRUE.equals(body.starting()));
                java.util.Map<String, ai.factory.engine.EngineLoad> loads = new java.util.HashMap<>();
                java.util.Objects.requireNonNullElse(body.loads(), java.util.Map.<String, NodeWire.Load>of())
                        .forEach((assignment, load) -> loads.put(assignment, load.toEngineLoad()));
                List<ReplicaWork> work = assignments.report(node.id(),
                        java.util.Objects.requireNonNullElse(body.replicas(), List.of()), loads);
                ctx.json(new NodeWire.HeartbeatAnswer(seen.id(), seen.state().id(),
                        config.heartbeatInterval().toMillis(), work,
                        controlPlanes.get().stream().map(java.net.URI::toString).toList()));
            });
            // The model of one of the node's own replicas, as stored here: encrypted, so the bytes on the wire and on
            // the worker's disk are ciphertext. The worker checks the plaintext's digest once it has the key.
            c.routes.get(ASSIGNMENT + "/blob", ctx -> {
                Node node = node(ctx, nodes);
                ReplicaWork work = assignments.ofNode(node.id(), ctx.pathParam("id"));
                ModelRegistry.FileBlob blob = checked(work, registry).blob();
                ctx.contentType("application/octet-stream");
                ctx.header("Content-Length", String.valueOf(java.nio.file.Files.size(blob.ciphertext())));
                try (var in = java.nio.file.Files.newInputStream(blob.ciphertext())) {
                    in.transferTo(ctx.outputStream());
                }
            });
            // The data key of one of the node's own replicas, released over mutual TLS and audited.
            c.routes.post(ASSIGNMENT + "/key", ctx -> {
                Node node = node(ctx, nodes);
                ReplicaWork work = assignments.ofNode(node.id(), ctx.pathParam("id"));
                ModelVersion version = checked(work, registry).version();
                byte[] secret = registry.releaseKey(version, version.files().getFirst().path()).exportSecret();
                assignments.keyReleased(node.id(), work);
                ctx.json(java.util.Map.of("key", java.util.Base64.getEncoder().encodeToString(secret)));
            });
        });
    }

    /** An assignment's model version and its one file's blob. */
    private record Checked(ModelVersion version, ModelRegistry.FileBlob blob) {}

    /**
     * The model version of an assignment and its file's blob, checked to be what the assignment was made for (owner
     * and digest); CONFLICT when the model changed since.
     */
    private static Checked checked(ReplicaWork work, ModelRegistry registry) {
        ModelVersion version = registry.resolve(ModelRef.parse(work.model()));
        ModelRegistry.FileBlob blob = registry.fileBlob(version, version.files().getFirst().path());
        if (!blob.sha256().equals(work.sha256()) || !blob.owner().equals(work.owner())) {
            throw new FactoryException(ErrorCode.CONFLICT, work.model() + " is no longer the model assignment "
                    + work.assignment() + " was made for");
        }
        return new Checked(version, blob);
    }

    /** The node whose certificate the call presented; FORBIDDEN (and audited) when no node in the cluster holds it. */
    private static Node node(Context ctx, Nodes nodes) {
        Object attribute = ctx.req().getAttribute(CLIENT_CERTIFICATES);
        if (!(attribute instanceof X509Certificate[] chain) || chain.length == 0) {
            throw new FactoryException(ErrorCode.UNAUTHENTICATED, "the cluster endpoint takes calls with a node's "
                    + "client certificate only");
        }
        Optional<Node> node = nodes.authenticate(chain[0]);
        if (node.isEmpty()) {
            nodes.refusedCertificate(chain[0], ctx.ip());
            throw new FactoryException(ErrorCode.FORBIDDEN, "this certificate belongs to no node in the cluster: the "
                    + "node was removed; join again with a new token");
        }
        return node.get();
    }

    static ServerConnector mutualTls(org.eclipse.jetty.server.Server server, HttpConfiguration http,
                                             ServerIdentity identity, X509Certificate clusterCa) {
        HttpConfiguration https = new HttpConfiguration(http);
        https.addCustomizer(new SecureRequestCustomizer());
        SslContextFactory.Server ssl = ApiServer.presenting(identity);
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("cluster-ca", clusterCa);
            ssl.setTrustStore(trust);
        } catch (java.security.GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot trust the cluster CA: " + e.getMessage(), e);
        }
        ssl.setNeedClientAuth(true);
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                new HttpConnectionFactory(https));
        connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        return connector;
    }

    /**
     * How long a connection between the control plane and a worker may stay idle: longer than the JDK client's keep-alive
     * (30 s by default), so that the client closes an idle connection first and never sends a call on one this side is
     * closing (a call lost that way failed with "cannot be reached" and passed a healthy worker by). Jetty's default is
     * the same 30 s.
     */
    static final java.time.Duration IDLE_TIMEOUT = java.time.Duration.ofMinutes(5);

    public ClusterServer start() {
        app.start();
        return this;
    }

    /** The port it listens on (the one {@code cluster.port} asked for, or the free one it picked for 0). */
    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }
}
