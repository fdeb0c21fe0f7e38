package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.security.Principal;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditLog;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * The audit hook: every request but the health probes leaves one audit record (who, which project, what action on
 * which resource, allowed or denied, how it ended, from where, bytes and tokens), written once the response is
 * complete so that the byte counts are final and the caller never waits for it. Metadata only: no request or
 * response body is looked at.
 *
 * <p>The action is the authorization action the route performs ({@value #ACTION}, e.g. {@code invoke}), else, for
 * a request that matched no route, its method and path; the detail is the method and route template
 * ({@code POST /v1/chat/completions}); the resource is the route's path parameters. Routes that generate text call
 * {@link #usage} with the token counts. The request id is the caller's {@code X-Request-Id} when it is a plain
 * token, else a fresh UUID, and is echoed in the response (on the Bedrock paths also as {@code x-amzn-RequestId}).
 */
public final class RequestAudit {
    public static final String ACTION = "factory.action";
    private static final String STATE = "factory.audit";
    private static final String USAGE = "factory.usage";
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    private final AuditLog log;
    private final Clock clock;

    public RequestAudit(AuditLog log, Clock clock) {
        this.log = requireNonNull(log, "log is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Token counts of a text generation, for its audit record. */
    public static void usage(Context ctx, long promptTokens, long completionTokens) {
        ctx.attribute(USAGE, new long[] {promptTokens, completionTokens});
    }

    /** What the hook learns while the request runs; read when the exchange completes. */
    private static final class State {
        final Instant at;
        final String requestId;
        final String client;
        volatile Principal principal;
        volatile String action;
        volatile String route;
        volatile String resource = "";
        volatile long[] usage;

        State(Instant at, String requestId, String client) {
            this.at = at;
            this.requestId = requestId;
            this.client = client;
        }
    }

    void begin(Context ctx) {
        if (Authentication.isPublic(ctx.path())) {
            return;
        }
        String given = ctx.header("X-Request-Id");
        String requestId = given != null && REQUEST_ID.matcher(given).matches() ? given : UUID.randomUUID().toString();
        ctx.header("X-Request-Id", requestId);
        if (Authentication.isAws(ctx.path())) {
            // Where the AWS SDKs look for it: their responses' and exceptions' requestId().
            ctx.header("x-amzn-RequestId", requestId);
        }
        State state = new State(clock.instant(), requestId, ctx.ip());
        state.action = ctx.method().name() + " " + ctx.path();
        ctx.attribute(STATE, state);
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        if (request == null) {
            return;
        }
        Response response = request.getServletContextResponse();
        Request.addCompletionListener(request, failure -> log.record(event(state,
                Response.getContentBytesWritten(response) , Request.getContentBytesRead(request),
                failure == null ? response.getStatus() : 0)));
    }

    /** Runs after the handler (and after a failed authentication): takes what the request learned. */
    void end(Context ctx) {
        State state = ctx.attribute(STATE);
        if (state == null) {
            return;
        }
        state.principal = ctx.attribute(Authentication.PRINCIPAL);
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        String route = endpoint == null ? ctx.method().name() + " " + ctx.path() : ctx.method().name() + " " + endpoint.path;
        String named = ctx.attribute(ACTION);
        state.action = named != null ? named : route;
        state.route = route;
        if (endpoint != null) {
            Map<String, String> params = new TreeMap<>(ctx.pathParamMap());
            state.resource = params.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(","));
        }
        state.usage = ctx.attribute(USAGE);
    }

    private static AuditEvent event(State s, long bytesOut, long bytesIn, int status) {
        Principal p = s.principal;
        boolean denied = p == null || status == 401 || status == 403;
        long[] usage = s.usage == null ? new long[2] : s.usage;
        return new AuditEvent(s.at, p == null ? "anonymous" : p.id(), p == null ? "" : p.name(),
                p == null ? "" : p.project(), s.action, s.resource, denied ? AuditEvent.DENY : AuditEvent.ALLOW,
                status >= 200 && status < 400 ? AuditEvent.SUCCESS : AuditEvent.FAILURE, status, s.client,
                s.requestId, Math.max(0, bytesIn), Math.max(0, bytesOut), usage[0], usage[1], s.route == null ? "" : s.route);
    }
}
