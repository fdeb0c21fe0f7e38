package ai.factory.api;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.inference.CallListener;
import ai.factory.quotas.Ticket;
import ai.factory.security.Action;
import ai.factory.identity.Principal;
import ai.factory.security.content.AuditContent;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditLog;
import ai.factory.security.audit.CallJournal;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit hook: every request but the health probes leaves one audit record (who, which project, what action on
 * which resource, allowed or denied, how it ended, from where, bytes and tokens), written once the response is
 * complete so that the byte counts are final and the caller never waits for it. Metadata only: no request or
 * response body is looked at.
 *
 * <p>The action is the authorization action the route performs ({@value #ACTION}, e.g. {@code invoke}), else, for
 * a request that matched no route, its method and path; the detail is the method and route template
 * ({@code POST /v1/chat/completions}); the resource is the model a call served ({@code model=acme/tiny}), else the
 * route's path parameters. Routes that serve a model report to the request's {@link #listener}: the model, and the
 * token counts. The request id is the caller's {@code X-Request-Id} when it is a plain
 * token, else a fresh UUID, and is echoed in the response (on the Bedrock paths also as {@code x-amzn-RequestId}).
 *
 * <p>Content logging: when the caller's project opted in, an inference call's request body and generated text are
 * stored encrypted under the project's keys ({@link AuditContent}) before the response completes, and the record's
 * detail names the content's SHA-256 ({@code content=sha256:…}), which the hash chain then covers. The listener
 * hears every generated token, so a call that ends early (the client went away, a timeout) still records the
 * prompt and the tokens it got, and its content so far.
 *
 * <p>A call whose client leaves while it runs (a closed connection, a reset HTTP/2 stream: {@link ClientDepartures})
 * is stopped, streamed or not, so its slot serves others; its record has status {@value #CLIENT_LEFT} and the tokens
 * it generated until then.
 */
public final class RequestAudit {
    public static final String ACTION = "factory.action";
    private static final String STATE = "factory.audit";
    private static final Logger LOG = LoggerFactory.getLogger(RequestAudit.class);
    /** The status recorded for a call whose client left before its answer (nginx's "client closed request"). */
    public static final int CLIENT_LEFT = 499;
    /** Writes ahead the calls whose handlers start meanwhile: a virtual thread each, as the calls come. */
    private static final Executor ADMISSIONS = task -> Thread.ofVirtual().name("audit-admit").start(task);
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    private final AuditLog log;
    private final CallJournal journal;
    private final Clock clock;
    private final AuditContent content;
    private final Predicate<String> contentLogged;
    private final ClientDepartures departures = new ClientDepartures();

    /**
     * @param contentLogged whether a project keeps the text of its inference calls (asked once per call)
     */
    public RequestAudit(AuditLog log, CallJournal journal, Clock clock, AuditContent content,
                        Predicate<String> contentLogged) {
        this.log = requireNonNull(log, "log is null");
        this.journal = requireNonNull(journal, "journal is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.content = requireNonNull(content, "content is null");
        this.contentLogged = requireNonNull(contentLogged, "contentLogged is null");
    }

    /**
     * The request's call listener: what an inference call reports through it (the model it names, its prompt, its
     * tokens and their text, its final counts) lands in the request's record and, for a project that logs content,
     * in its kept content. A call that ends early (the client went away, a timeout, a failure) still records the
     * prompt and the tokens it got so far. On a request the audit does not follow (health probes), a listener that
     * hears nothing.
     */
    public static CallListener listener(Context ctx) {
        State state = ctx.attribute(STATE);
        return state == null ? CallListener.NONE : state;
    }

    /** The request's client went away before its answer was complete (a write failed): recorded as 499. */
    static void clientLeft(Context ctx) {
        State state = ctx.attribute(STATE);
        if (state != null) {
            state.clientLeft = true;
        }
    }

    /**
     * The request was authorized and its handler is about to run: it is written ahead ({@link CallJournal}), so a
     * crash from here on leaves it in the chain as interrupted. A journal that cannot be written refuses the call.
     *
     * @param alongside write ahead on a thread of its own while the handler starts, for a handler that waits for it
     *     ({@link #awaitAdmission}) before it does anything that lasts; else here, before the handler runs
     */
    static void admitted(Context ctx, String action, boolean alongside) {
        State state = ctx.attribute(STATE);
        if (state == null) {
            return;
        }
        Principal p = ctx.attribute(Authentication.PRINCIPAL);
        String route = route(ctx);
        String resource = pathParameters(ctx);
        AuditEvent admitted = new AuditEvent(state.at, p == null ? "anonymous" : p.id(), p == null ? "" : p.name(),
                p == null ? "" : p.project(), action, resource, AuditEvent.ALLOW, CallJournal.INTERRUPTED, 0,
                state.client, state.requestId, 0, 0, 0, 0, route + " interrupted: the factory stopped before the "
                + "call ended");
        if (alongside) {
            state.admission = CompletableFuture.runAsync(() -> writeAhead(state, admitted), ADMISSIONS);
        } else {
            writeAhead(state, admitted);
        }
    }

    private static void writeAhead(State state, AuditEvent admitted) {
        try {
            state.journal.admit(admitted);
        } catch (RuntimeException e) {
            LOG.error("audit: cannot write ahead request {}", state.requestId, e);
            throw notWrittenAhead();
        }
    }

    private static FactoryException notWrittenAhead() {
        return new FactoryException(ErrorCode.UNAVAILABLE, "the audit trail cannot be written now, so the call was "
                + "not run; try again shortly");
    }

    /**
     * Returns once the request is written ahead (at once where that happened before its handler ran).
     *
     * @throws FactoryException UNAVAILABLE when it could not be: the call must not run, nor be answered but as refused
     */
    static void awaitAdmission(Context ctx) {
        State state = ctx.attribute(STATE);
        if (state != null) {
            state.awaitAdmission();
        }
    }

    /** The request was refused by a quota: the record's detail names the limit ({@code limit=project=acme:rpm=50}). */
    static void refused(Context ctx, String limit) {
        State state = ctx.attribute(STATE);
        if (state != null) {
            state.limit = limit;
        }
    }

    /** The method and route template ({@code POST /v1/chat/completions}), else method and path. */
    private static String route(Context ctx) {
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        return ctx.method().name() + " " + (endpoint == null ? ctx.path() : endpoint.path);
    }

    /** The route's path parameters, {@code name=value} sorted and comma-separated. */
    private static String pathParameters(Context ctx) {
        return new TreeMap<>(ctx.pathParamMap()).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }

    /** The model the request's call named, or null. */
    static @Nullable String model(Context ctx) {
        State state = ctx.attribute(STATE);
        return state == null ? null : state.model;
    }

    /** What the hook learns while the request runs; read when the exchange completes. */
    private static final class State implements CallListener {
        final Instant at;
        final String requestId;
        final String client;
        final AtomicLong completionTokens = new AtomicLong();
        volatile @Nullable Principal principal;
        /** The method and path until the request ends, then the action the route performs. */
        volatile String action;
        volatile @Nullable String route;
        volatile String resource = "";
        volatile @Nullable String model;
        volatile int promptTokens = -1;
        volatile long @Nullable [] usage;
        volatile @Nullable Output content;
        volatile @Nullable String contentSha256;
        volatile boolean contentFailed;
        /** The request as Jetty holds it (to watch for its client leaving), or null outside a servlet request. */
        volatile @Nullable Request request;
        final List<ClientDepartures.Watch> watches = new CopyOnWriteArrayList<>();
        /** The client went away while its call ran, which was then stopped: recorded as status 499. */
        volatile boolean clientLeft;
        /** A refusal answered as if the resource did not exist (another project's): recorded as denied. */
        volatile boolean denied;
        /** The quota limit that refused the call, for the record's detail, or null. */
        volatile @Nullable String limit;
        /** The call's admission under its quotas, settled when the request ends if the call did not settle it. */
        volatile @Nullable Ticket ticket;
        /** Writes the rate-limit headers of an admitted call (OpenAI's API), or null. */
        volatile java.util.function.@Nullable Consumer<Ticket> onAdmitted;
        /** The write-ahead under way beside the handler, or null where it was written before the handler ran. */
        volatile @Nullable CompletableFuture<Void> admission;
        private final ClientDepartures departures;
        private final CallJournal journal;

        State(Instant at, String requestId, String client, String action, ClientDepartures departures,
              CallJournal journal) {
            this.at = at;
            this.requestId = requestId;
            this.client = client;
            this.action = action;
            this.departures = departures;
            this.journal = journal;
        }

        /** A client that leaves while the call runs stops it: its slot is free for others within a moment. */
        @Override
        public void running(Runnable stop) {
            Request r = request;
            if (r != null) {
                watches.add(departures.watch(r, () -> {
                    if (usage == null) {
                        clientLeft = true;
                        stop.run();
                    }
                }));
            }
        }

        @Override
        public void admitted(Ticket ticket) {
            this.ticket = ticket;
            var hook = onAdmitted;
            if (hook != null) {
                hook.accept(ticket);
            }
        }

        /** Settles the call's ticket with what it used, if the call ended without doing so (it failed, say). */
        void settle() {
            Ticket t = ticket;
            long[] used = counts();
            if (t != null) {
                t.settle(used == null ? 0 : used[0], used == null ? 0 : used[1]);
            }
        }

        @Override
        public void awaitAdmission() {
            CompletableFuture<Void> pending = admission;
            if (pending == null) {
                return;
            }
            try {
                pending.join();
            } catch (CompletionException | CancellationException e) {
                throw notWrittenAhead();
            }
        }

        void stopWatching() {
            watches.forEach(ClientDepartures.Watch::close);
        }

        @Override
        public void model(String model) {
            this.model = model;
        }

        @Override
        public void submitted(int promptTokens) {
            this.promptTokens = promptTokens;
        }

        @Override
        public void token(int choice, String text) {
            completionTokens.incrementAndGet();
            Output out = content;
            if (out != null) {
                out.append(choice, text);
            }
        }

        @Override
        public void finished(int promptTokens, int completionTokens) {
            usage = new long[] {promptTokens, completionTokens};
        }

        /** The counts for the record: final ones, else (an early end) what the call used so far. */
        long @Nullable [] counts() {
            if (usage != null) {
                return usage;
            }
            return promptTokens < 0 ? null : new long[] {promptTokens, completionTokens.get()};
        }
    }

    /**
     * The text a call generated, per choice: one string for a call of one choice, a string per choice (by index)
     * for several.
     */
    private static final class Output {
        private final List<StringBuilder> choices = new ArrayList<>(); // guarded by this

        synchronized void append(int choice, String text) {
            while (choices.size() <= choice) {
                choices.add(new StringBuilder());
            }
            choices.get(choice).append(text);
        }

        synchronized Object value() {
            if (choices.size() <= 1) {
                return choices.isEmpty() ? "" : choices.getFirst().toString();
            }
            return choices.stream().map(StringBuilder::toString).toList();
        }
    }

    void begin(Context ctx) {
        ApiFamily family = ApiFamily.of(ctx);
        if (family == ApiFamily.PUBLIC) {
            return;
        }
        String given = ctx.header("X-Request-Id");
        String requestId = given != null && REQUEST_ID.matcher(given).matches() ? given : UUID.randomUUID().toString();
        ctx.header("X-Request-Id", requestId);
        if (family == ApiFamily.BEDROCK) {
            // Where the AWS SDKs look for it: their responses' and exceptions' requestId().
            ctx.header("x-amzn-RequestId", requestId);
        }
        State state = new State(clock.instant(), requestId, ctx.ip(), ctx.method().name() + " " + ctx.path(), departures,
                journal);
        ctx.attribute(STATE, state);
        if (family == ApiFamily.OPENAI) {
            // Set while the handler runs, before its answer starts.
            state.onAdmitted = ticket -> RateLimitHeaders.of(ticket.status()).forEach(ctx::header);
        }
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        if (request == null) {
            return;
        }
        state.request = request;
        Response response = request.getServletContextResponse();
        Request.addCompletionListener(request, failure -> {
            state.stopWatching();
            state.settle();
            log.record(event(state, Response.getContentBytesWritten(response), Request.getContentBytesRead(request),
                    answered(state, response, failure)));
        });
    }

    /**
     * The status the client got: what was sent when the answer began (a refused upload whose body was never read
     * still got its 403, though the exchange then failed), {@value #CLIENT_LEFT} when the client left first, 0 when
     * nothing was sent.
     */
    private static int answered(State state, Response response, Throwable failure) {
        if (state.clientLeft) {
            return CLIENT_LEFT;
        }
        return failure == null || response.isCommitted() ? response.getStatus() : 0;
    }

    /** Runs once the caller is known: an inference call of a project that logs content starts keeping its text. */
    void authenticated(Context ctx) {
        Principal p = ctx.attribute(Authentication.PRINCIPAL);
        State state = ctx.attribute(STATE);
        if (p != null && state != null && contentLogged.test(p.project())) {
            state.content = new Output();
        }
    }

    /** Runs after the handler (and after a failed authentication): takes what the request learned. */
    void end(Context ctx) {
        State state = ctx.attribute(STATE);
        if (state == null) {
            return;
        }
        state.stopWatching();
        state.denied = Boolean.TRUE.equals(ctx.attribute(ErrorResponses.DENIED));
        state.principal = ctx.attribute(Authentication.PRINCIPAL);
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        String route = route(ctx);
        String named = ctx.attribute(ACTION);
        state.action = named != null ? named : route;
        state.route = route;
        String model = state.model;
        if (model != null) {
            // The model a call served, as the factory names it (a Bedrock model id may be an ARN or URL-encoded).
            state.resource = "model=" + model;
        } else if (endpoint != null) {
            state.resource = pathParameters(ctx);
        }
        state.usage = state.counts();
        state.settle();
        Output output = state.content;
        if (output != null && Action.INVOKE.id().equals(named) && state.usage != null) {
            storeContent(ctx, state, output);
        }
    }

    /**
     * Keeps the call's content. If it can't be kept (a full disk, the project's keys gone), the answer stands (it
     * may be streamed already) and the record says so: {@code content=failed}, which auditors see in the chain.
     */
    private void storeContent(Context ctx, State state, Output output) {
        Principal principal = requireNonNull(state.principal, "an invocation has a principal");
        try {
            state.contentSha256 = content.store(principal.project(), state.requestId, state.at,
                    content(ctx, state, output));
        } catch (RuntimeException e) {
            state.contentFailed = true;
            LOG.error("audit: the content of request {} by {} (project {}) could not be kept", state.requestId,
                    principal.id(), principal.project(), e);
        }
    }

    /** One call's logged content: a fresh id (so no two calls share a blob), the request body and the output. */
    private static byte[] content(Context ctx, State state, Output output) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("id", UUID.randomUUID().toString());
        c.put("requestId", state.requestId);
        c.put("at", state.at.toString());
        c.put("route", state.route);
        c.put("request", body(ctx));
        c.put("output", output.value());
        try {
            return Json.mapper().writeValueAsBytes(c);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("logged content is plain JSON", e);
        }
    }

    /** The request body as JSON where it is JSON, else as text. */
    private static Object body(Context ctx) {
        String text = ctx.body();
        try {
            JsonNode node = Json.mapper().readTree(text);
            return node == null ? text : node;
        } catch (JsonProcessingException e) {
            return text;
        }
    }

    private static AuditEvent event(State s, long bytesOut, long bytesIn, int status) {
        Principal p = s.principal;
        boolean denied = p == null || status == 401 || status == 403 || s.denied;
        long[] usage = s.usage == null ? new long[2] : s.usage;
        return new AuditEvent(s.at, p == null ? "anonymous" : p.id(), p == null ? "" : p.name(),
                p == null ? "" : p.project(), s.action, s.resource, denied ? AuditEvent.DENY : AuditEvent.ALLOW,
                status >= 200 && status < 400 ? AuditEvent.SUCCESS : AuditEvent.FAILURE, status, s.client,
                s.requestId, Math.max(0, bytesIn), Math.max(0, bytesOut), usage[0], usage[1], detail(s));
    }

    private static String detail(State s) {
        Ticket ticket = s.ticket;
        // A batch call says so, for the usage rollups by priority class (interactive is the default, left unsaid).
        String route = (s.route == null ? "" : s.route)
                + (ticket != null && ticket.priority() == ai.factory.engine.Priority.BATCH ? " priority=batch" : "");
        if (s.limit != null) {
            return route + " " + s.limit;
        }
        if (s.contentFailed) {
            return route + " content=failed";
        }
        return s.contentSha256 == null ? route : route + " content=sha256:" + s.contentSha256;
    }
}
