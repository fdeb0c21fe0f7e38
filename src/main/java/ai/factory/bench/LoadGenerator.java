package ai.factory.bench;

import ai.factory.fleet.LoadAverage;
import org.jspecify.annotations.Nullable;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * Sends a benchmark's streamed requests and measures them. With closed arrivals each level of the sweep runs exactly
 * {@code concurrency} workers on virtual threads, each taking the next session as soon as its last one finished, so
 * that many are in flight until the level's sessions run out. With Poisson arrivals a level starts its sessions at the
 * times of a Poisson process of its rate, each on a virtual thread of its own, however many are still in flight, up to
 * the workload's cap. A session is one request, or with several turns that many requests one after the other, each
 * prompt carrying the previous one and its answer. Requests share one HTTP/1.1 client, whose pool opens a connection
 * per request in flight and keeps them for the next level. Failures (an HTTP status of 400 or more, an error event, a
 * broken or truncated stream, a timeout) are results counted by kind, never exceptions; the turns after a failed one
 * fail as {@code earlier_turn_failed}, having no answer to carry forward.
 */
public final class LoadGenerator implements AutoCloseable {
    private final BenchOptions options;
    private final Workload workload;
    private final Clock clock;
    private final Runnable onRequestDone;
    private final Prompts prompts;
    private final ExecutorService clientExecutor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient client;

    /**
     * @param onRequestDone called after every request, warm-up included, from the thread that sent it
     */
    public LoadGenerator(BenchOptions options, Clock clock, Runnable onRequestDone) {
        this(options, defaultTls(), clock, onRequestDone);
    }

    /** As the other constructor, trusting over https whom {@code tls} trusts. */
    public LoadGenerator(BenchOptions options, SSLContext tls, Clock clock, Runnable onRequestDone) {
        this.options = requireNonNull(options, "options is null");
        this.workload = options.workload();
        this.clock = requireNonNull(clock, "clock is null");
        this.onRequestDone = requireNonNull(onRequestDone, "onRequestDone is null");
        this.prompts = new Prompts(options);
        this.client = HttpClient.newBuilder().version(version(options.http())).connectTimeout(Duration.ofSeconds(10))
                .sslContext(requireNonNull(tls, "tls is null")).executor(clientExecutor).build();
    }

    private static HttpClient.Version version(BenchOptions.Http http) {
        return http == BenchOptions.Http.HTTP_2 ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1;
    }

    /** The JDK's default TLS context: its own trusted authorities. */
    static SSLContext defaultTls() {
        try {
            return SSLContext.getDefault();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK offers no default TLS context", e);
        }
    }

    /** Every request the sweep sends, warm-up included (every turn of every session), for a progress bar. */
    public long totalRequests() {
        long sessions = options.warmup() + (long) options.requestsPerLevel() * levelCount() * options.rounds();
        return sessions * workload.turns();
    }

    /** Runs the warm-up, then every level, round after round. */
    public BenchReport run() throws InterruptedException {
        String date = now();
        warmUp();
        List<List<Sample>> samples = new ArrayList<>();
        for (int i = 0; i < levelCount(); i++) {
            samples.add(new ArrayList<>());
        }
        for (int round = 0; round < options.rounds(); round++) {
            for (int i = 0; i < levelCount(); i++) {
                samples.get(i).add(sample(round, i));
            }
        }
        return report(date, samples);
    }

    /** The levels of the sweep: one per concurrency, or with Poisson arrivals one per rate. */
    int levelCount() {
        return switch (workload.arrival()) {
            case CLOSED -> options.concurrency().size();
            case POISSON -> workload.rates().size();
        };
    }

    /** The sweep's start, in the form reports carry it. */
    String now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /**
     * Sends the unmeasured warm-up sessions (numbered from 0) in a closed loop, at most as many at once as the sweep's
     * highest concurrency.
     */
    void warmUp() throws InterruptedException {
        if (options.warmup() > 0) {
            int warmupConcurrency = Math.min(options.warmup(), options.concurrency().stream().mapToInt(Integer::intValue).max().orElseThrow());
            closed(warmupConcurrency, options.warmup(), 0);
        }
    }

    /**
     * Measures level {@code i} of the sweep in round {@code round}. Its sessions are numbered after the warm-up's and
     * those of every level before it, so no prompt repeats beyond the shared prefix, and two generators with the same
     * options send the same prompts (and, with Poisson arrivals, at the same times) at the same level and round.
     */
    Sample sample(int round, int i) throws InterruptedException {
        int sessions = options.requestsPerLevel();
        int firstIndex = options.warmup() + (round * levelCount() + i) * sessions;
        return switch (workload.arrival()) {
            case CLOSED -> closed(options.concurrency().get(i), sessions, firstIndex);
            case POISSON -> poisson(workload.rates().get(i), sessions, firstIndex);
        };
    }

    /** The report of a sweep from its samples: for each level, those of every round. */
    BenchReport report(String date, List<List<Sample>> samples) {
        List<LevelResult> levels = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            levels.add(switch (workload.arrival()) {
                case CLOSED -> summarize(options.concurrency().get(i), null, samples.get(i));
                case POISSON -> summarize(workload.maxInFlight(), workload.rates().get(i), samples.get(i));
            });
        }
        return new BenchReport(options.baseUrl().toString(), options.model(), options.endpoint().name().toLowerCase(java.util.Locale.ROOT),
                workload.meanPromptTokens(), options.outputTokens(), date, levels, null, workload);
    }

    /**
     * One run of a level: its requests' results (turn after turn of each session), when it started, how long it took,
     * the load average at its end, and with Poisson arrivals how many arrivals waited for the cap.
     */
    record Sample(String started, double seconds, RequestResult[] results, @Nullable Double loadAverage,
                  int heldArrivals) {}

    /**
     * Measures one closed level: {@code sessions} sessions (numbered from {@code firstIndex}) with {@code concurrency}
     * in flight.
     */
    LevelResult level(int concurrency, int sessions, int firstIndex) throws InterruptedException {
        return summarize(concurrency, null, List.of(closed(concurrency, sessions, firstIndex)));
    }

    private Sample closed(int concurrency, int sessions, int firstIndex) throws InterruptedException {
        upgradeToHttp2();
        RequestResult[] results = new RequestResult[sessions * workload.turns()];
        AtomicInteger next = new AtomicInteger();
        String started = clock.instant().truncatedTo(ChronoUnit.MILLIS).toString();
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < concurrency; w++) {
                workers.submit(() -> {
                    for (int i = next.getAndIncrement(); i < sessions; i = next.getAndIncrement()) {
                        session(firstIndex + i, results, i * workload.turns());
                    }
                    return null;
                });
            }
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("the benchmark was interrupted");
        }
        return new Sample(started, (System.nanoTime() - start) / 1e9, results, LoadAverage.oneMinute(), 0);
    }

    /**
     * Measures one open level: {@code sessions} sessions (numbered from {@code firstIndex}) starting at the times of a
     * Poisson process of {@code rate} per second (seeded by the workload's seed and the first session's number), each
     * on its own virtual thread; an arrival that finds the cap in flight waits for one to end and is counted.
     */
    private Sample poisson(double rate, int sessions, int firstIndex) throws InterruptedException {
        upgradeToHttp2();
        double[] arrivals = Arrivals.poisson(rate, sessions,
                new SplittableRandom(workload.seed() * 0xD1B5_4A32_D192_ED03L + firstIndex));
        RequestResult[] results = new RequestResult[sessions * workload.turns()];
        Semaphore inFlight = new Semaphore(workload.maxInFlight());
        int held = 0;
        String started = clock.instant().truncatedTo(ChronoUnit.MILLIS).toString();
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < sessions; i++) {
                long due = start + (long) (arrivals[i] * 1e9);
                for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (!inFlight.tryAcquire()) {
                    held++;
                    inFlight.acquire();
                }
                int session = i;
                workers.submit(() -> {
                    try {
                        session(firstIndex + session, results, session * workload.turns());
                    } finally {
                        inFlight.release();
                    }
                    return null;
                });
            }
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("the benchmark was interrupted");
        }
        return new Sample(started, (System.nanoTime() - start) / 1e9, results, LoadAverage.oneMinute(), held);
    }

    /** Runs session {@code session}'s turns one after the other into {@code results} from {@code offset}. */
    private void session(int session, RequestResult[] results, int offset) {
        Prompts.Turn turn = prompts.first(session);
        for (int number = 1; number <= workload.turns(); number++) {
            Exchange exchange = send(prompts.body(turn));
            results[offset + number - 1] = exchange.result().asTurn(number);
            onRequestDone.run();
            if (!exchange.result().succeeded()) {
                for (int rest = number + 1; rest <= workload.turns(); rest++) {
                    results[offset + rest - 1] = RequestResult.failed("earlier_turn_failed", 0).asTurn(rest);
                    onRequestDone.run();
                }
                return;
            }
            if (number < workload.turns()) {
                turn = prompts.next(turn, exchange.answer());
            }
        }
    }

    /** One request's measurement and the text it answered. */
    private record Exchange(RequestResult result, String answer) {
        static Exchange failed(String error, long start) {
            return new Exchange(RequestResult.failed(error, (System.nanoTime() - start) / 1e6), "");
        }
    }

    /**
     * Over http, the JDK's client asks for HTTP/2 with {@code Upgrade: h2c} only on a request without a body; one
     * {@code GET …/models} before each sample upgrades the connection (or finds it upgraded), on which the sample's
     * requests then run; the connection may have closed while the other server of a comparison was measured. (Over
     * https ALPN chooses at the handshake.)
     */
    private void upgradeToHttp2() throws InterruptedException {
        if (options.http() != BenchOptions.Http.HTTP_2 || !"http".equals(options.baseUrl().getScheme())) {
            return;
        }
        String base = options.baseUrl().toString().replaceAll("/+$", "");
        HttpRequest.Builder models = HttpRequest.newBuilder(URI.create(base + "/models")).timeout(Duration.ofSeconds(30));
        if (options.apiKey() != null) {
            models.header("Authorization", "Bearer " + options.apiKey());
        }
        try {
            client.send(models.build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // The sweep's own requests then fail and say why.
        }
    }

    /** Sends the request {@code json} and reads its stream to the end. */
    private Exchange send(String json) {
        HttpRequest.Builder request = HttpRequest.newBuilder(options.requestUri()).timeout(options.requestTimeout())
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (options.apiKey() != null) {
            request.header("Authorization", "Bearer " + options.apiKey());
        }
        long start = System.nanoTime();
        try {
            HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() >= 400) {
                    body.readAllBytes();
                    return Exchange.failed("http_" + response.statusCode(), start);
                }
                if (response.version() != version(options.http())) {
                    // Measured over another protocol than the one named: not a sample of what was asked.
                    body.readAllBytes();
                    return Exchange.failed("served_over_" + response.version(), start);
                }
                SseAccumulator stream = new SseAccumulator(start);
                BufferedReader lines = new BufferedReader(new InputStreamReader(body, UTF_8));
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    stream.line(line, System.nanoTime());
                }
                return new Exchange(stream.finish(System.nanoTime()), stream.answer());
            }
        } catch (HttpTimeoutException e) {
            return Exchange.failed("timeout", start);
        } catch (IOException e) {
            return Exchange.failed("connection", start);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Exchange.failed("interrupted", start);
        }
    }

    /**
     * A level's figures from its samples, pooled: rates are successful requests and their tokens over the samples'
     * summed wall time, percentiles are over every request (or gap) of every sample (TTFT apart for first and later
     * turns), the start is the first sample's, the load average the mean of those known and the held arrivals their
     * sum.
     */
    static LevelResult summarize(int concurrency, @Nullable Double rate, List<Sample> samples) {
        Map<String, Integer> errors = new HashMap<>();
        List<Double> ttft = new ArrayList<>();
        List<Double> laterTtft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        long tokens = 0;
        int succeeded = 0;
        int requests = 0;
        double seconds = 0;
        double loadSum = 0;
        int loads = 0;
        int held = 0;
        for (Sample sample : samples) {
            seconds += sample.seconds();
            held += sample.heldArrivals();
            if (sample.loadAverage() != null) {
                loadSum += sample.loadAverage();
                loads++;
            }
            for (RequestResult r : sample.results()) {
                requests++;
                if (!r.succeeded()) {
                    errors.merge(r.error(), 1, Integer::sum);
                    continue;
                }
                succeeded++;
                tokens += r.outputTokens();
                e2e.add(r.e2eMs());
                if (!Double.isNaN(r.ttftMs())) {
                    (r.turn() == 1 ? ttft : laterTtft).add(r.ttftMs());
                }
                if (!Double.isNaN(r.tpotMs())) {
                    tpot.add(r.tpotMs());
                }
                for (double gap : r.itlMs()) {
                    itl.add(gap);
                }
            }
        }
        double[] gaps = array(itl);
        return new LevelResult(concurrency, samples.getFirst().started(), requests, requests - succeeded, errors, seconds,
                succeeded / seconds, tokens / seconds, succeeded == 0 ? 0 : (double) tokens / succeeded,
                Percentiles.of(array(ttft)), Percentiles.of(array(tpot)), Percentiles.of(gaps),
                Percentiles.of(array(e2e)), loads == 0 ? null : loadSum / loads, rate, held,
                Percentiles.of(array(laterTtft)), GapTail.of(gaps));
    }

    private static double[] array(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Override
    public void close() {
        client.close();
        clientExecutor.close();
    }
}
