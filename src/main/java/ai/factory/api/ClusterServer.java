package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.admin.NodeWire;
import ai.factory.cluster.Node;
import ai.factory.cluster.Nodes;
import ai.factory.config.ClusterConfig;
import ai.factory.security.tls.ServerIdentity;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
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
 * /cluster/v1/heartbeat} records that the node is alive, with its version and inventory.
 */
public final class ClusterServer implements AutoCloseable {
    static final String HEARTBEAT = "/cluster/v1/heartbeat";
    private static final String CLIENT_CERTIFICATES = "jakarta.servlet.request.X509Certificate";

    private final Javalin app;

    /**
     * @param host the address to bind
     * @param identity the endpoint's certificate (issued by {@code clusterCa}) and key
     */
    public ClusterServer(String host, ClusterConfig config, ServerIdentity identity, X509Certificate clusterCa,
                         Nodes nodes) {
        requireNonNull(host, "host is null");
        requireNonNull(config, "config is null");
        requireNonNull(identity, "identity is null");
        requireNonNull(clusterCa, "clusterCa is null");
        requireNonNull(nodes, "nodes is null");
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
            c.routes.post(HEARTBEAT, ctx -> {
                Node node = node(ctx, nodes);
                NodeWire.Heartbeat body = WireJson.read(ctx.bodyAsBytes(), NodeWire.Heartbeat.class);
                Node seen = nodes.heartbeat(node.id(), body.version(), body.inventory().toString());
                ctx.json(new NodeWire.HeartbeatAnswer(seen.id(), seen.state().id(),
                        config.heartbeatInterval().toMillis()));
            });
        });
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

    private static ServerConnector mutualTls(org.eclipse.jetty.server.Server server, HttpConfiguration http,
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
        return new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(https));
    }

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
