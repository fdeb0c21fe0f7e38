package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.cluster.ReplicaCalls;
import ai.factory.cluster.WorkerReplicas;
import ai.factory.engine.Generation;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TokenEvent;
import ai.factory.security.tls.ClusterCa;
import ai.factory.security.tls.ServerIdentity;
import com.fasterxml.jackson.core.JacksonException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's serving port: the replicas it runs, for the control plane alone. Mutual TLS with the node's own
 * certificate; a caller must present a certificate of the cluster CA issued to the control plane (another node's is
 * refused), so that inference reaches a worker only through the control plane, where it is authorized, audited and
 * metered. The calls are {@link ReplicaCalls}'; a generation streams one line per event, flushed as it happens, and
 * a caller that goes away cancels the call's generations.
 */
public final class WorkerServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerServer.class);
    private static final String CLIENT_CERTIFICATES = "jakarta.servlet.request.X509Certificate";
    private static final Duration POLL = Duration.ofMillis(250);

    private final Javalin app;

    /**
     * @param host the address to bind
     * @param port the port, 0 for a free one
     * @param identity the node's certificate and key
     * @param heartbeatNow sends the worker's next heartbeat at once: the control plane calls {@link ReplicaCalls#HEARTBEAT_NOW}
     *     when it has assigned the worker a replica, so that the worker learns of it without waiting for its interval
     */
    /** The largest call body a worker takes. */
    private static final long MAX_BODY = 16L << 20;

    public WorkerServer(String host, int port, ServerIdentity identity, X509Certificate clusterCa,
                        WorkerReplicas replicas, Runnable heartbeatNow) {
        requireNonNull(replicas, "replicas is null");
        requireNonNull(heartbeatNow, "heartbeatNow is null");
        this.app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.jsonMapper(new JavalinJackson(Json.mapper(), true));
            c.http.maxRequestSize = MAX_BODY;
            c.startup.showJavalinBanner = false;
            c.jetty.addConnector((server, http) -> {
                var connector = ClusterServer.mutualTls(server, http, identity, clusterCa);
                connector.setHost(host);
                connector.setPort(port);
                return connector;
            });
            c.routes.exception(Exception.class, WorkerServer::fail);
            // Javalin answers these itself unless told otherwise (413 from the body size limit, among others).
            c.routes.exception(io.javalin.http.HttpResponseException.class, WorkerServer::fail);
            c.routes.error(404, ctx -> {
                if (ctx.endpoints().matchedHttpEndpoint() == null) {
                    ctx.contentType("application/json").result(ReplicaCalls.error(new FactoryException(
                            ErrorCode.NOT_FOUND, "no such call on a worker: " + ctx.method() + " " + ctx.path())));
                }
            });
            c.routes.before(ctx -> requireControlPlane(ctx));
            // A refused or too large body is read and dropped, so the control plane's client gets the answer, not a
            // reset connection (as on the API's port).
            c.routes.after(ctx -> ApiServer.discardUnreadBody(ctx, 2 * MAX_BODY));
            c.routes.post(ReplicaCalls.HEARTBEAT_NOW, ctx -> {
                heartbeatNow.run();
                ctx.status(204);
            });
            c.routes.post(ReplicaCalls.PREFIX + "{id}" + ReplicaCalls.TOKENIZE, ctx -> {
                ReplicaCalls.Tokenize body = Json.mapper().readValue(ctx.bodyAsBytes(), ReplicaCalls.Tokenize.class);
                if (body.text() == null) {
                    throw FactoryException.invalidParam("text", "'text' is required");
                }
                ctx.json(Map.of("tokens", replicas.engine(ctx.pathParam("id"))
                        .tokenize(body.text(), body.addSpecial(), body.parseSpecial())));
            });
            c.routes.post(ReplicaCalls.PREFIX + "{id}" + ReplicaCalls.DETOKENIZE, ctx -> {
                ReplicaCalls.Detokenize body = Json.mapper().readValue(ctx.bodyAsBytes(),
                        ReplicaCalls.Detokenize.class);
                if (body.tokens() == null) {
                    throw FactoryException.invalidParam("tokens", "'tokens' is required");
                }
                ctx.json(Map.of("text", replicas.engine(ctx.pathParam("id")).detokenize(body.tokens())));
            });
            c.routes.post(ReplicaCalls.PREFIX + "{id}" + ReplicaCalls.GENERATE, ctx -> {
                ReplicaCalls.Generate body = Json.mapper().readValue(ctx.bodyAsBytes(), ReplicaCalls.Generate.class);
                if (body.requests() == null || body.requests().isEmpty()) {
                    throw FactoryException.invalidParam("requests", "'requests' takes at least one generation");
                }
                TextEngine engine = replicas.engine(ctx.pathParam("id"));
                stream(ctx, engine.submitAll(body.requests()));
            });
        });
    }

    /** FORBIDDEN unless the caller presented the control plane's certificate. */
    private static void requireControlPlane(Context ctx) {
        Object attribute = ctx.req().getAttribute(CLIENT_CERTIFICATES);
        if (!(attribute instanceof X509Certificate[] chain) || chain.length == 0
                || !ClusterCa.isControlPlane(chain[0])) {
            LOG.warn("refused a call from {}: not the control plane's certificate", ctx.ip());
            throw new FactoryException(ErrorCode.FORBIDDEN, "a worker serves the control plane alone");
        }
    }

    /**
     * Writes the generations' events as they come, one line each, flushed: the first generation's from this thread,
     * any others' from a thread each, one writer at a time, so a token goes out without a hand-over between
     * threads. A caller gone (a failed write) cancels them all.
     */
    private static void stream(Context ctx, List<Generation> generations) {
        OutputStream out;
        try {
            ctx.status(200).contentType("application/x-ndjson");
            // Headers at once: the control plane counts the call on this worker from its answer.
            ctx.res().flushBuffer();
            out = ctx.res().getOutputStream();
        } catch (IOException e) {
            generations.forEach(Generation::cancel);
            return;
        }
        List<Thread> others = new java.util.ArrayList<>();
        for (int i = 1; i < generations.size(); i++) {
            int index = i;
            others.add(Thread.ofVirtual().name("replica-stream-" + i).start(() -> write(index, generations, out)));
        }
        write(0, generations, out);
        for (Thread t : others) {
            try {
                t.join();
            } catch (InterruptedException e) {
                generations.forEach(Generation::cancel);
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Writes generation {@code index}'s events until its end; a failed write cancels every generation of the call. */
    private static void write(int index, List<Generation> generations, OutputStream out) {
        Generation g = generations.get(index);
        try {
            while (true) {
                TokenEvent e = g.next(POLL);
                if (e == null) {
                    continue;
                }
                byte[] line = (ReplicaCalls.line(index, e) + "\n").getBytes(StandardCharsets.UTF_8);
                synchronized (out) {
                    out.write(line);
                    out.flush();
                }
                if (e instanceof TokenEvent.Done) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            generations.forEach(Generation::cancel);
            LOG.debug("the control plane left a generation: {}", e.getMessage());
        }
    }

    private static void fail(Exception e, Context ctx) {
        FactoryException fe = switch (e) {
            case FactoryException f -> f;
            case JacksonException j -> new FactoryException(ErrorCode.INVALID_REQUEST,
                    "the request body is not valid JSON: " + j.getOriginalMessage());
            case IllegalArgumentException i -> new FactoryException(ErrorCode.INVALID_REQUEST, String.valueOf(
                    i.getMessage()));
            case io.javalin.http.HttpResponseException h when h.getStatus() == 413 -> new FactoryException(
                    ErrorCode.PAYLOAD_TOO_LARGE, "the call's body is larger than a worker accepts (16 MiB)");
            case io.javalin.http.HttpResponseException h -> new FactoryException(ErrorResponses.codeFor(h.getStatus()),
                    String.valueOf(h.getMessage()));
            default -> {
                LOG.error("unexpected failure on {} {}", ctx.method(), ctx.path(), e);
                yield new FactoryException(ErrorCode.INTERNAL, "internal error; the worker's log has the details");
            }
        };
        ctx.status(fe.code().httpStatus()).contentType("application/json").result(ReplicaCalls.error(fe));
    }

    public WorkerServer start() {
        app.start();
        return this;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }
}
