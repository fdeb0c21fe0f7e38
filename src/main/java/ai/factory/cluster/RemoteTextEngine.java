package ai.factory.cluster;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import ai.factory.engine.EngineLoad;
import ai.factory.engine.Generation;
import ai.factory.engine.GenerationRequest;
import ai.factory.engine.TextEngine;
import ai.factory.engine.TextModelInfo;
import ai.factory.engine.TokenEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica that runs on a worker, as the control plane's inference pipeline sees it: a {@link TextEngine} whose
 * calls go to the worker's serving port over mutual TLS ({@link ReplicaCalls}). Tokens stream through as the worker
 * writes them, one line each; cancelling every generation of a call closes its connection, which stops them on the
 * worker. A worker that goes away mid-call ends each unfinished generation with an error, in the order the caller
 * reads it, never silently.
 *
 * <p>{@link #load()} counts the calls this control plane has in flight on the replica: routing sends the next call
 * to the least busy replica, local or remote alike. Closing the engine ends its assignment (see {@link
 * WorkerEngines}).
 */
final class RemoteTextEngine implements TextEngine {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteTextEngine.class);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    private final ReplicaWork work;
    private final URI base;
    private final HttpClient http;
    private final TextModelInfo info;
    private final Runnable onClose;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();

    RemoteTextEngine(ReplicaWork work, URI serving, HttpClient http, TextModelInfo info, Runnable onClose) {
        this.work = requireNonNull(work, "work is null");
        this.base = serving.resolve(ReplicaCalls.PREFIX + work.assignment());
        this.http = requireNonNull(http, "http is null");
        this.info = requireNonNull(info, "info is null");
        this.onClose = requireNonNull(onClose, "onClose is null");
    }

    @Override
    public TextModelInfo info() {
        return info;
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        JsonNode answer = call(ReplicaCalls.TOKENIZE, new ReplicaCalls.Tokenize(text, addSpecial, parseSpecial));
        int[] tokens = new int[answer.path("tokens").size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = answer.path("tokens").get(i).asInt();
        }
        return tokens;
    }

    @Override
    public String detokenize(int[] tokens) {
        return call(ReplicaCalls.DETOKENIZE, new ReplicaCalls.Detokenize(tokens)).path("text").asText();
    }

    /** A call with a JSON answer. */
    private JsonNode call(String path, Object body) {
        HttpResponse<String> r = send(path, body, HttpResponse.BodyHandlers.ofString(), CALL_TIMEOUT);
        if (r.statusCode() != 200) {
            throw ReplicaCalls.exception(r.statusCode(), r.body());
        }
        try {
            return Json.mapper().readTree(r.body());
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "replica " + work.assignment() + " answered what is not JSON");
        }
    }

    private <T> HttpResponse<T> send(String path, Object body, HttpResponse.BodyHandler<T> handler,
                                     @Nullable Duration timeout) {
        if (closed.get()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "model " + work.model() + " is being unloaded");
        }
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a replica call: " + e.getMessage(), e);
        }
        if (timeout != null) {
            request.timeout(timeout);
        }
        try {
            return http.send(request.build(), handler);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the worker running a replica of " + work.model()
                    + " cannot be reached: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "interrupted while calling a worker");
        }
    }

    @Override
    public List<Generation> submitAll(List<GenerationRequest> requests) {
        HttpResponse<InputStream> r = send(ReplicaCalls.GENERATE, new ReplicaCalls.Generate(requests),
                HttpResponse.BodyHandlers.ofInputStream(), null);
        if (r.statusCode() != 200) {
            String body;
            try (InputStream in = r.body()) {
                body = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
            } catch (IOException e) {
                body = "";
            }
            throw ReplicaCalls.exception(r.statusCode(), body);
        }
        Call call = new Call(r.body(), requests.size());
        active.addAndGet(requests.size());
        Thread.ofVirtual().name("replica-" + work.assignment()).start(call::read);
        return List.copyOf(call.generations);
    }

    /** One generate call: its stream, read on a thread of its own, and its generations fed from it. */
    private final class Call {
        private final InputStream stream;
        private final List<Remote> generations = new ArrayList<>();
        private final AtomicInteger open;

        Call(InputStream stream, int count) {
            this.stream = stream;
            this.open = new AtomicInteger(count);
            for (int i = 0; i < count; i++) {
                generations.add(new Remote(this));
            }
        }

        void read() {
            String failure = null;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.isBlank()) {
                        continue;
                    }
                    ReplicaCalls.Event e = ReplicaCalls.event(line);
                    if (e.index() >= 0 && e.index() < generations.size()) {
                        generations.get(e.index()).deliver(e.event());
                    }
                }
            } catch (IOException | RuntimeException e) {
                failure = e.getMessage();
            }
            for (Remote g : generations) {
                if (!g.finished.get()) {
                    g.deliver(new TokenEvent.Done(g.cancelled.get() ? TokenEvent.FinishReason.CANCELLED
                            : TokenEvent.FinishReason.ERROR, 0, g.tokens, 0, "the worker running this replica of "
                            + work.model() + " went away mid-generation" + (failure == null ? "" : ": " + failure)));
                }
            }
        }

        /** A generation ended (done, or cancelled by its caller); the last one closes the stream. */
        void ended() {
            active.decrementAndGet();
            if (open.decrementAndGet() == 0) {
                closeQuietly();
            }
        }

        void closeQuietly() {
            try {
                stream.close();
            } catch (IOException e) {
                LOG.debug("closing a replica stream: {}", e.getMessage());
            }
        }
    }

    /** A generation running on the worker. */
    private static final class Remote implements Generation {
        private final Call call;
        private final LinkedBlockingQueue<TokenEvent> events = new LinkedBlockingQueue<>();
        private final AtomicBoolean finished = new AtomicBoolean();
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private volatile int tokens;

        Remote(Call call) {
            this.call = call;
        }

        void deliver(TokenEvent event) {
            if (finished.get()) {
                return;
            }
            if (event instanceof TokenEvent.Done) {
                if (finished.compareAndSet(false, true)) {
                    events.add(event);
                    call.ended();
                }
                return;
            }
            tokens++;
            events.add(event);
        }

        @Override
        public TokenEvent next(Duration timeout) throws InterruptedException {
            return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        /** Stops it here at once; when every generation of the call has stopped, the worker's are stopped too. */
        @Override
        public void cancel() {
            if (cancelled.compareAndSet(false, true)) {
                deliver(new TokenEvent.Done(TokenEvent.FinishReason.CANCELLED, 0, tokens, 0, null));
            }
        }
    }

    @Override
    public EngineLoad load() {
        int calls = active.get();
        return new EngineLoad(Math.min(calls, info.parallel()), Math.max(0, calls - info.parallel()), info.parallel(),
                work.queue());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            onClose.run();
        }
    }
}
