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
import ai.factory.engine.Vocabulary;
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
 * <p>The replica can move: {@link WorkerEngines} re-places it when its worker goes down, fails it or is drained,
 * and {@link #attach}es the new assignment once that one is ready. Until then it is not {@link #available()} and
 * routing sends calls to the deployment's other replicas. Calls keep the assignment they started on: one on a
 * worker that went away ends with {@link TokenEvent.FinishReason#UNAVAILABLE}, one on a drained worker runs to its
 * end, and the drained assignment ends only when none is left on it.
 *
 * <p>With the model's {@link Vocabulary} loaded on the control plane ({@link Vocabularies}), text is tokenized and
 * detokenized here, and a call makes one trip to the worker (its generation); without it, the worker tokenizes.
 *
 * <p>{@link #load()} counts the calls this control plane has in flight on the replica: routing sends the next call
 * to the least busy replica, local or remote alike. Closing the engine ends its assignments.
 */
final class RemoteTextEngine implements TextEngine {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteTextEngine.class);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    private final String model;
    private final int queue;
    private final HttpClient http;
    private final TextModelInfo info;
    private final @Nullable Vocabulary vocabulary;
    private final java.util.function.Consumer<RemoteTextEngine> onClose;
    private final AtomicInteger active = new AtomicInteger();
    /** Every token its worker generated for calls through this engine. */
    private final java.util.concurrent.atomic.LongAdder generatedTotal = new java.util.concurrent.atomic.LongAdder();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** What its worker was last given to compute: the conversation affinity of {@link #cachedPrefix}. */
    private final RecentSequences recent;
    private volatile @Nullable Target target;
    /** The work of the replica's latest placement, which a move places again when it has no target. */
    private volatile ReplicaWork work;
    private volatile boolean healthy = true;
    /** Until when routing passes this replica by: its worker could not be reached (System.nanoTime). */
    private volatile long unreachableUntil = System.nanoTime();
    private static final Duration UNREACHABLE_FOR = Duration.ofSeconds(5);

    /**
     * Where the replica runs: an assignment on a worker's serving port, and its calls in flight.
     *
     * @param ended what to do once the target is retired and has no call left (end the assignment)
     */
    static final class Target {
        final ReplicaWork work;
        final Node node;
        final URI base;
        private final java.util.Set<Call> calls = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final Runnable ended;
        private volatile boolean retired;
        /** Whether its worker tokenizes {@link #PROBE} as the vocabulary here does (see {@link #checkTokenizer}). */
        volatile boolean tokenizesHere;
        /** Calls sent but not answered yet: they count as in flight from before they are sent. */
        private int starting;
        private boolean over;

        Target(ReplicaWork work, Node node, Runnable ended) {
            this.work = requireNonNull(work, "work is null");
            this.node = requireNonNull(node, "node is null");
            this.base = URI.create("https://" + WorkerEngines.hostOf(node.address()) + ":" + node.servingPort()
                    + ReplicaCalls.PREFIX + work.assignment());
            this.ended = requireNonNull(ended, "ended is null");
        }

        /** No new call goes here; the assignment ends once the calls in flight have. */
        void retire() {
            retired = true;
            endIfIdle();
        }

        /** Ends every call in flight at once, as UNAVAILABLE (the worker went away), and the assignment. */
        void abandon() {
            retired = true;
            calls.forEach(Call::abandon);
            endIfIdle();
        }

        int inFlight() {
            return calls.size();
        }

        /** A call is about to be sent here; false when the target has ended (the caller picks the current one). */
        synchronized boolean begin() {
            if (over) {
                return false;
            }
            starting++;
            return true;
        }

        /** A call {@link #begin}-ed was answered ({@code call}) or failed (null). */
        void begun(@Nullable Call call) {
            if (call != null) {
                calls.add(call);
            }
            synchronized (this) {
                starting--;
            }
            endIfIdle();
        }

        private synchronized void endIfIdle() {
            if (retired && calls.isEmpty() && starting == 0 && !over) {
                over = true;
                ended.run();
            }
        }
    }

    /**
     * @param vocabulary the model's vocabulary, loaded here: calls are tokenized with it, not by the worker (null:
     *     by the worker), once a worker tokenizes {@link #PROBE} as it does; closed once the engine is and its last
     *     call has ended
     */
    RemoteTextEngine(Target first, HttpClient http, TextModelInfo info, @Nullable Vocabulary vocabulary,
                     java.util.function.Consumer<RemoteTextEngine> onClose) {
        this.target = requireNonNull(first, "first is null");
        this.work = first.work;
        this.model = first.work.model();
        this.queue = first.work.queue();
        this.http = requireNonNull(http, "http is null");
        this.info = requireNonNull(info, "info is null");
        this.vocabulary = vocabulary;
        this.onClose = requireNonNull(onClose, "onClose is null");
        // The slots' sequences, and as many again of those just ended (a slot keeps its last one until reused).
        this.recent = new RecentSequences(Math.max(1, info.parallel()) * 2);
        checkTokenizer(first);
    }

    /** The longest start of {@code prompt} its worker computed lately (see {@link RecentSequences}). */
    @Override
    public int cachedPrefix(int[] prompt) {
        return recent.longestPrefix(prompt);
    }

    /** Where the replica runs now; null while it is being moved. */
    @Nullable Target target() {
        return target;
    }

    /** The work of the replica's latest placement. */
    ReplicaWork work() {
        return work;
    }

    /** From now on calls go to {@code next}; the previous target, if any, is retired. */
    void attach(Target next) {
        Target before = target;
        if (before == null || !before.node.id().equals(next.node.id())) {
            recent.clear(); // another worker: its cache holds none of what the last one computed
        }
        work = next.work;
        target = next;
        placementProblem = null;
        if (before != next) {
            checkTokenizer(next);
        }
        if (before != null && before != next) {
            before.retire();
        }
        if (closed.get()) {
            next.retire();
        }
    }

    /** Calls go nowhere until the next {@link #attach}; the previous target is abandoned (its worker is gone). */
    void detach() {
        Target before = target;
        target = null;
        if (before != null) {
            before.abandon();
        }
    }

    /** Whether the worker running the replica reported it ready and is up (the supervisor's last look). */
    void healthy(boolean healthy) {
        this.healthy = healthy;
    }

    /** The GPUs the worker last reported the replica holds (null: it did not say). */
    private volatile @Nullable Integer gpus;

    void gpus(@Nullable Integer gpus) {
        this.gpus = gpus;
    }

    /** Where the replica runs now: its worker's name and the GPUs the worker reported it holds; empty while moving. */
    java.util.Optional<WorkerEngines.Where> where() {
        Target t = target;
        return t == null ? java.util.Optional.empty() : java.util.Optional.of(new WorkerEngines.Where(t.node.name(), gpus));
    }

    boolean closed() {
        return closed.get();
    }

    /** Why the last try to place the replica again failed; null once it is placed. */
    private volatile @Nullable String placementProblem;

    /** The last try to place the replica again failed for {@code reason} (it is tried again at the next look). */
    void placementFailed(String reason) {
        placementProblem = reason;
    }

    /**
     * Why it does not serve: being moved, on a worker down or not ready, or unloaded. A worker that one call could not
     * reach (routing passes it by for a few seconds) still counts as serving here: one blip is not a degraded
     * deployment.
     */
    @Override
    public @Nullable String unavailableReason() {
        Target t = target;
        String problem = placementProblem;
        if (closed.get()) {
            return "it is being unloaded";
        }
        if (t == null) {
            return "it is being placed again on the workers left" + (problem == null ? "" : ": " + problem);
        }
        if (!healthy) {
            // A move that failed says why (its assignment ended, or its worker went down, and no other has room).
            return problem != null ? "it is being placed again: " + problem
                    : "its worker " + t.node.name() + " is down or has not reported it ready";
        }
        return null;
    }

    /** Whether calls may come here now: placed on a worker that is up and has it ready. */
    @Override
    public boolean available() {
        return target != null && healthy && !closed.get() && System.nanoTime() - unreachableUntil >= 0;
    }

    /** The target for a new call; UNAVAILABLE while the replica is being moved. */
    private Target current() {
        Target t = target;
        if (t == null || closed.get()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the replica of " + model + " is "
                    + (closed.get() ? "being unloaded" : "being moved to another worker") + "; try again");
        }
        return t;
    }

    /** The target for a new call, counted there as in flight until {@link Target#begun}. */
    private Target beginCall() {
        while (true) {
            Target t = current();
            if (t.begin()) {
                return t;
            }
            Thread.onSpinWait(); // it ended between the read and the count: the next one is attached already
        }
    }

    @Override
    public TextModelInfo info() {
        return info;
    }

    /**
     * What tells whether the vocabulary here tokenizes as a worker does (another llama.cpp there, in a rolling
     * upgrade, may not): words, punctuation, accents, other scripts, an emoji, digits, white space and the marks of
     * several chat templates, with the special tokens added and parsed.
     */
    static final String PROBE = "Hello, world! Naïve café — 日本語のテキスト, русский текст 🙂 1234567890 3.14\n\t  "
            + "<s>[INST] <<SYS>> a system <</SYS>> a turn [/INST] an answer</s><|im_start|>user\nhi<|im_end|>"
            + "<|start_header_id|>user<|end_header_id|> <|eot_id|>";

    /**
     * Asks {@code t}'s worker, in the background, to tokenize {@link #PROBE}: once its tokens are those of the
     * vocabulary here, calls on {@code t} are tokenized here. Until then, or when they differ, or the worker cannot be
     * asked, the worker tokenizes.
     */
    private void checkTokenizer(Target t) {
        Vocabulary here = vocabulary;
        if (here == null) {
            return;
        }
        Thread.ofVirtual().name("tokenizer-check-" + t.work.assignment()).start(() -> {
            for (int attempt = 1; attempt <= PROBE_ATTEMPTS && !closed.get() && target == t; attempt++) {
                try {
                    // A probe that fails does not make routing pass the replica by.
                    boolean same = java.util.Arrays.equals(tokens(call(t, ReplicaCalls.TOKENIZE,
                            new ReplicaCalls.Tokenize(PROBE, true, true), false)), here.tokenize(PROBE, true, true));
                    t.tokenizesHere = same;
                    if (same) {
                        LOG.info("replica {} of {} on {}: its calls are tokenized here", t.work.replica(), model,
                                t.node.name());
                    } else {
                        LOG.warn("replica {} of {} on {}: its worker tokenizes otherwise than the vocabulary here "
                                + "(another llama.cpp?); it tokenizes its calls itself", t.work.replica(), model,
                                t.node.name());
                    }
                    return;
                } catch (RuntimeException e) {
                    LOG.info("replica {} of {} on {}: the tokenizer check failed ({}){}", t.work.replica(), model,
                            t.node.name(), e.getMessage(), attempt < PROBE_ATTEMPTS ? "; trying again"
                                    : "; its worker tokenizes its calls");
                }
                try {
                    Thread.sleep(PROBE_RETRY.toMillis() * attempt);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    private static final int PROBE_ATTEMPTS = 3;
    private static final Duration PROBE_RETRY = Duration.ofSeconds(1);

    /** The vocabulary loaded here, once the current target's worker was seen to tokenize as it does. */
    private @Nullable Vocabulary localVocabulary() {
        Target t = target;
        return vocabulary != null && t != null && t.tokenizesHere ? vocabulary : null;
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        Vocabulary local = localVocabulary();
        if (local != null) {
            return local.tokenize(text, addSpecial, parseSpecial);
        }
        return tokens(call(current(), ReplicaCalls.TOKENIZE,
                new ReplicaCalls.Tokenize(text, addSpecial, parseSpecial), true));
    }

    private static int[] tokens(JsonNode answer) {
        int[] tokens = new int[answer.path("tokens").size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = answer.path("tokens").get(i).asInt();
        }
        return tokens;
    }

    @Override
    public String detokenize(int[] tokens) {
        Vocabulary local = localVocabulary();
        if (local != null) {
            return local.detokenize(tokens);
        }
        return call(current(), ReplicaCalls.DETOKENIZE, new ReplicaCalls.Detokenize(tokens), true).path("text")
                .asText();
    }

    /**
     * A call to {@code to} with a JSON answer.
     *
     * @param passBy whether a worker it cannot reach is passed by for a while ({@link #send})
     */
    private JsonNode call(Target to, String path, Object body, boolean passBy) {
        HttpResponse<String> r = send(to, path, body, HttpResponse.BodyHandlers.ofString(), CALL_TIMEOUT, passBy);
        if (r.statusCode() != 200) {
            throw ReplicaCalls.exception(r.statusCode(), r.body());
        }
        try {
            return Json.mapper().readTree(r.body());
        } catch (JsonProcessingException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "a replica of " + model + " answered what is not JSON");
        }
    }

    /** @param passBy whether routing passes the replica by for a while when its worker cannot be reached */
    private <T> HttpResponse<T> send(Target to, String path, Object body, HttpResponse.BodyHandler<T> handler,
                                     @Nullable Duration timeout, boolean passBy) {
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(to.base + path)).header("Content-Type", "application/json")
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
            if (passBy) {
                // Passed by until the supervisor has seen whether the worker is gone: one failed call, not one per call.
                unreachableUntil = System.nanoTime() + UNREACHABLE_FOR.toNanos();
            }
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the worker running a replica of " + model
                    + " (" + to.node.name() + ") cannot be reached: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FactoryException(ErrorCode.UNAVAILABLE, "interrupted while calling a worker");
        }
    }

    @Override
    public List<Generation> submitAll(List<GenerationRequest> requests) {
        // Counted from now, not from the answer: a call routed while this one is being set up sees it, and a drained
        // worker's assignment does not end under it.
        Target to = beginCall();
        active.addAndGet(requests.size());
        HttpResponse<InputStream> r;
        try {
            // The worker answers its headers at once; the timeout is for a worker that does not answer at all.
            r = send(to, ReplicaCalls.GENERATE, new ReplicaCalls.Generate(requests),
                    HttpResponse.BodyHandlers.ofInputStream(), CALL_TIMEOUT, true);
        } catch (RuntimeException e) {
            callsEnded(requests.size());
            to.begun(null);
            throw e;
        }
        if (r.statusCode() != 200) {
            callsEnded(requests.size());
            to.begun(null);
            String body;
            try (InputStream in = r.body()) {
                body = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
            } catch (IOException e) {
                body = "";
            }
            throw ReplicaCalls.exception(r.statusCode(), body);
        }
        Call call = new Call(to, r.body(), requests);
        to.begun(call);
        Thread.ofVirtual().name("replica-" + to.work.assignment()).start(call::read);
        return List.copyOf(call.generations);
    }

    /** One generate call: its stream, read on a thread of its own, and its generations fed from it. */
    private final class Call {
        private final Target target;
        private final InputStream stream;
        private final List<Remote> generations = new ArrayList<>();
        private final AtomicInteger open;
        private volatile boolean abandoned;

        private final List<RecentSequences.Sequence> sequences = new ArrayList<>();

        Call(Target target, InputStream stream, List<GenerationRequest> requests) {
            this.target = target;
            this.stream = stream;
            this.open = new AtomicInteger(requests.size());
            for (GenerationRequest request : requests) {
                generations.add(new Remote(this));
                sequences.add(recent.start(request.prompt()));
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
                        if (e.event() instanceof TokenEvent.Token t) {
                            sequences.get(e.index()).append(t.id());
                            generatedTotal.increment();
                        }
                        generations.get(e.index()).deliver(e.event());
                    }
                }
            } catch (IOException | RuntimeException e) {
                failure = e.getMessage();
            }
            for (Remote g : generations) {
                if (!g.finished.get()) {
                    g.deliver(new TokenEvent.Done(g.cancelled.get() ? TokenEvent.FinishReason.CANCELLED
                            : TokenEvent.FinishReason.UNAVAILABLE, 0, g.tokens, 0, "the worker running this replica "
                            + "of " + model + " (" + target.node.name() + ") went away mid-generation"
                            + (abandoned || failure == null ? "" : ": " + failure)));
                }
            }
        }

        /** The worker is gone: the stream is closed, and the reader ends what is left as UNAVAILABLE. */
        void abandon() {
            abandoned = true;
            closeQuietly();
        }

        /**
         * A generation ended (done, or cancelled by its caller). When the last one has: a call its caller cancelled
         * closes the stream, which stops the worker's generations; one that finished is read to its end by the reader,
         * so that its connection goes back to the pool (a new one costs a TLS handshake on the next call's path).
         */
        void ended() {
            callsEnded(1);
            if (open.decrementAndGet() == 0) {
                if (generations.stream().anyMatch(g -> g.cancelled.get())) {
                    closeQuietly();
                }
                target.calls.remove(this);
                target.endIfIdle();
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

    /** {@code count} generations ended (or never started): the vocabulary may go now. */
    private void callsEnded(int count) {
        active.addAndGet(-count);
        releaseVocabularyIfIdle();
    }

    /** Once the engine is closed and no call is left on it (one may still detokenize: echo), the vocabulary goes. */
    private void releaseVocabularyIfIdle() {
        if (vocabulary != null && closed.get() && active.get() == 0) {
            vocabulary.close(); // a handle: closing it twice is harmless
        }
    }

    @Override
    public EngineLoad load() {
        int calls = active.get();
        return new EngineLoad(Math.min(calls, info.parallel()), Math.max(0, calls - info.parallel()), info.parallel(),
                queue, generatedTotal.sum());
    }

    /** Ends the replica: its assignment ends once the calls in flight have (they are cancelled as the caller's are). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Target t = target;
            if (t != null) {
                t.retire();
            }
            releaseVocabularyIfIdle();
            onClose.accept(this);
        }
    }
}
