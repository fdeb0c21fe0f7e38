package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.config.ServerConfig;
import ai.factory.security.Action;
import ai.factory.security.Authorizer;
import ai.factory.security.tls.ServerIdentity;
import ai.factory.security.tls.ServerTls;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.javalin.router.Endpoint;
import io.javalin.router.EndpointMetadata;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The factory's HTTP server: one Javalin instance on virtual threads where authentication, the audit hook,
 * metrics, error mapping and every route group are declared.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final Set<EndpointMetadata> PUBLIC = Set.of(new GuardedRoutes.Public());

    private final ServerConfig config;
    private final boolean tls;
    private final RequestDrain drain = new RequestDrain();
    /** The OpenAPI documents, generated from the routes on first request. */
    private final Map<OpenApiDocuments.Surface, String> documents = new java.util.concurrent.ConcurrentHashMap<>();
    private final Javalin app;
    private boolean closed;

    /**
     * @param identity what the port presents in TLS handshakes; empty: the port speaks clear text
     * @param readiness named checks that must all hold for {@code /health/ready}
     */
    public ApiServer(ServerConfig config, Optional<ServerIdentity> identity, Authentication authentication,
                     Authorizer authorizer, RequestAudit audit, PrometheusMeterRegistry metrics,
                     Map<String, Supplier<Boolean>> readiness, List<Routes> routes) {
        this.config = requireNonNull(config, "config is null");
        this.tls = requireNonNull(identity, "identity is null").isPresent();
        requireNonNull(authentication, "authentication is null");
        requireNonNull(authorizer, "authorizer is null");
        requireNonNull(audit, "audit is null");
        requireNonNull(metrics, "metrics is null");
        Map<String, Supplier<Boolean>> checks = Map.copyOf(readiness);
        List<Routes> groups = List.copyOf(routes);
        HttpMetrics httpMetrics = new HttpMetrics(metrics);
        io.micrometer.core.instrument.Gauge.builder("factory.http.requests.in.flight", drain, RequestDrain::inFlight)
                .description("requests being handled now; what a shutdown waits for").register(metrics);
        this.app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.jsonMapper(new JavalinJackson(Json.mapper(), true));
            c.http.maxRequestSize = config.maxRequestBytes();
            c.startup.showJavalinBanner = false;
            // One connector for HTTP/1.1 and HTTP/2, so clients work with their default transports: in clear text
            // HTTP/2 by prior knowledge (as the AWS SDKs' async clients and Node's http2 speak it) or Upgrade: h2c;
            // over TLS, h2 by ALPN, or by prior knowledge when a client offers no ALPN.
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector = identity.isPresent() ? secureConnector(server, http, identity.get())
                        : new ServerConnector(server, new HttpConnectionFactory(http), new CleartextHttp2(http));
                connector.setHost(config.host());
                connector.setPort(config.port());
                return connector;
            });
            // RequestDrain refuses new work and waits for handlers; Jetty's graceful stop then waits for their
            // responses to be written before it closes connections.
            c.jetty.modifyServer(server -> {
                server.setStopTimeout(Math.max(1000, config.shutdownGrace().toMillis()));
                server.setHandler(new GracefulHandler());
                server.setErrorHandler(new ProtocolErrors());
            });
            c.routes.before(ctx -> {
                httpMetrics.start(ctx);
                audit.begin(ctx);
                drain.enter(ctx);
                authentication.authenticate(ctx);
                audit.authenticated(ctx);
            });
            c.routes.after(ctx -> {
                // Whatever the audit does, the request leaves the drain (or shutdown waits for it to the grace
                // period's end) and is counted.
                try {
                    discardUnreadBody(ctx, 2 * config.maxRequestBytes());
                    audit.end(ctx);
                } finally {
                    try {
                        drain.leave(ctx);
                    } finally {
                        httpMetrics.finish(ctx);
                    }
                }
            });
            c.routes.exception(Exception.class, ErrorResponses::handle);
            // Javalin answers these itself unless told otherwise (413 from the body size limit, among others).
            c.routes.exception(HttpResponseException.class, ErrorResponses::handle);
            c.routes.error(404, ctx -> {
                if (ctx.endpoints().matchedHttpEndpoint() != null) {
                    return; // a handler's own 404, already in its API's shape
                }
                List<String> allowed = allowedMethods(ctx.path());
                if (allowed.isEmpty()) {
                    ErrorResponses.write(ctx, FactoryException.about(ErrorCode.NOT_FOUND, "url",
                            "no such endpoint: " + ctx.method() + " " + ctx.path()));
                    return;
                }
                ctx.header("Allow", String.join(", ", allowed));
                ErrorResponses.write(ctx, FactoryException.about(ErrorCode.METHOD_NOT_ALLOWED, "method",
                        "method " + ctx.method() + " is not allowed on " + ctx.path() + "; it takes "
                                + String.join(", ", allowed)));
            });
            c.routes.addEndpoint(new Endpoint(HandlerType.GET, "/health/live", ctx -> ctx.json(Map.of("status", "up")),
                    PUBLIC));
            c.routes.addEndpoint(new Endpoint(HandlerType.GET, "/health/ready", ctx -> {
                Map<String, String> results = new LinkedHashMap<>();
                boolean ok = !drain.draining();
                results.put("accepting", ok ? "up" : "down");
                for (var check : checks.entrySet()) {
                    boolean up = safely(check.getValue());
                    results.put(check.getKey(), up ? "up" : "down");
                    ok &= up;
                }
                ctx.status(ok ? 200 : 503).json(Map.of("status", ok ? "up" : "down", "checks", results));
            }, PUBLIC));
            for (OpenApiDocuments.Surface surface : OpenApiDocuments.Surface.values()) {
                c.routes.addEndpoint(new Endpoint(HandlerType.GET, surface.path(), ctx -> ctx.contentType("application/json")
                        .result(documents.computeIfAbsent(surface, s -> OpenApiDocuments.text(s, routes()))), PUBLIC));
            }
            c.routes.addEndpoint(new Endpoint(HandlerType.GET, ConsoleFiles.PATH, ConsoleFiles::serve, PUBLIC));
            c.routes.addEndpoint(new Endpoint(HandlerType.GET, ConsoleFiles.PATH + "/<file>", ConsoleFiles::serve,
                    PUBLIC));
            GuardedRoutes guarded = new GuardedRoutes(c.routes, authorizer);
            // The metrics name every project's models and count their traffic: admins, auditors and metrics keys.
            guarded.get("/metrics", Action.READ_METRICS, ctx -> ctx
                    .contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
            groups.forEach(g -> g.addTo(guarded));
        });
        List<String> unguarded = routes().stream().filter(r -> r.action().isEmpty() && !r.isPublic())
                .map(r -> r.method() + " " + r.path()).toList();
        if (!unguarded.isEmpty()) {
            throw new IllegalStateException("routes registered without an action (use GuardedRoutes): " + unguarded);
        }
    }

    /**
     * TLS, then ALPN choosing h2 or http/1.1 (http/1.1 for a client that offers no ALPN); a client without ALPN that
     * then opens with HTTP/2's preface (prior knowledge over TLS) is taken into HTTP/2 by the h2c factory, as on the
     * clear-text port.
     */
    private static ServerConnector secureConnector(Server server, HttpConfiguration http, ServerIdentity identity) {
        HttpConfiguration https = new HttpConfiguration(http);
        https.addCustomizer(new SecureRequestCustomizer());
        HttpConnectionFactory http11 = new HttpConnectionFactory(https);
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(https);
        // ALPN's names, matched exactly: Jetty's HTTP/1.1 factory calls itself "HTTP/1.1", which no client offers.
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
        alpn.setDefaultProtocol("http/1.1");
        SslContextFactory.Server ssl = presenting(identity);
        ssl.setCipherComparator(HTTP2Cipher.COMPARATOR);
        return new ServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, http11,
                new HTTP2CServerConnectionFactory(https));
    }

    /** A TLS context that presents {@code identity}, whose key store lives in memory only. */
    static SslContextFactory.Server presenting(ServerIdentity identity) {
        // The key store's password guards nothing on disk.
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(identity.keyStore(password.toCharArray()));
        ssl.setKeyStorePassword(password);
        return ssl;
    }

    /**
     * The warning to give when the server would serve in clear text to the network: TLS off and an address that is
     * not loopback. Empty when TLS is on or only this machine can connect.
     */
    static Optional<String> plainTextWarning(String host, boolean tls) {
        if (tls || loopbackOnly(host)) {
            return Optional.empty();
        }
        return Optional.of("server.host " + host + " is reachable from the network and TLS is off: API keys, "
                + "signatures, prompts and outputs cross the network in clear text, where anyone on the path can read "
                + "and alter them. Turn on server.tls.enabled (docs/tls.md), or bind to 127.0.0.1 behind the site's "
                + "TLS terminator.");
    }

    /** Whether only this machine can reach {@code host}: localhost or loopback addresses only. */
    static boolean loopbackOnly(String host) {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (ServerTls.isWildcard(bare)) {
            return false;
        }
        if (bare.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            InetAddress[] addresses = InetAddress.getAllByName(bare);
            return java.util.Arrays.stream(addresses).allMatch(InetAddress::isLoopbackAddress);
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** The methods some route takes at {@code path}. */
    private List<String> allowedMethods(String path) {
        List<String> allowed = new java.util.ArrayList<>();
        for (HandlerType type : List.of(HandlerType.GET, HandlerType.POST, HandlerType.PUT, HandlerType.PATCH,
                HandlerType.DELETE)) {
            if (!app.unsafe.internalRouter.findHttpHandlerEntries(type, path).isEmpty()) {
                allowed.add(type.name());
            }
        }
        return allowed;
    }

    /** A registered endpoint as the router holds it: its action, or that it is public, and its contract if any. */
    public record RouteInfo(String method, String path, Optional<Action> action, boolean isPublic,
                            Optional<Contract> contract) {}

    /**
     * Every HTTP endpoint the router holds (before and after filters aside), read from the router itself rather than
     * from how they were added.
     */
    public List<RouteInfo> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .filter(p -> p.endpoint.method.isHttpMethod())
                .map(p -> {
            Endpoint e = p.endpoint;
            return new RouteInfo(e.method.name(), e.path, Optional.ofNullable(metadata(e, GuardedRoutes.Guard.class))
                    .map(GuardedRoutes.Guard::action), metadata(e, GuardedRoutes.Public.class) != null,
                    Optional.ofNullable(metadata(e, Contract.class)));
        }).toList();
    }

    private static <M extends EndpointMetadata> @Nullable M metadata(Endpoint e, Class<M> type) {
        try {
            return e.metadata(type);
        } catch (RuntimeException absent) {
            return null;
        }
    }

    /**
     * Reads and drops what is left of a request body the answer did not need (a refusal before the body was read,
     * a body too large), up to {@code limit} bytes. Over HTTP/2 a stream whose body was left unread is reset when
     * the answer completes, and some clients (the JDK's) then report the reset instead of the answer they got;
     * over HTTP/1.1 the connection can stay open. A body beyond the limit is left to the reset or the close.
     */
    static void discardUnreadBody(Context ctx, long limit) {
        long declared = ctx.req().getContentLengthLong();
        if (declared == 0 || declared > limit) {
            return;
        }
        try (InputStream in = ctx.req().getInputStream()) {
            long left = limit;
            byte[] buffer = new byte[64 << 10];
            for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0; ) {
                left -= n;
            }
        } catch (IOException | IllegalStateException e) {
            // Already read as a reader, or the client has gone: nothing to drop.
        }
    }

    private static boolean safely(Supplier<Boolean> check) {
        try {
            return check.get();
        } catch (RuntimeException e) {
            return false;
        }
    }

    public ApiServer start() {
        plainTextWarning(config.host(), tls).ifPresent(warning -> LOG.warn("{}", warning));
        app.start();
        LOG.info("listening on {}://{}:{}{}", tls ? "https" : "http", config.host(), port(),
                tls ? " (TLS: h2 and http/1.1 by ALPN)" : "");
        return this;
    }

    public int port() {
        return app.port();
    }

    public String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return (tls ? "https://" : "http://") + ("0.0.0.0".equals(host) ? "127.0.0.1" : host) + ":" + port();
    }

    /** Stops taking new requests, waits up to the configured grace for in-flight ones, then stops the server. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        int left = drain.drain(config.shutdownGrace());
        if (left > 0) {
            LOG.warn("stopping with {} requests still in flight after {}", left, config.shutdownGrace());
        }
        app.stop();
    }
}
