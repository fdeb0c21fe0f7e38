package ai.factory.bench;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * Sends a benchmark's streamed requests and measures them. Each level of the sweep runs exactly
 * {@code concurrency} workers on virtual threads, each taking the next request as soon as its last one
 * finished, so that many are in flight until the level's requests run out. Requests share one HTTP/1.1
 * client, whose pool opens a connection per request in flight and keeps them for the next level.
 * Failures (an HTTP status of 400 or more, an error event, a broken or truncated stream, a timeout) are
 * results counted by kind, never exceptions.
 */
public final class LoadGenerator implements AutoCloseable {
    private final BenchOptions options;
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

    /** Every request the sweep sends, warm-up included, for a progress bar. */
    public long totalRequests() {
        return options.warmup() + (long) options.requestsPerLevel() * options.concurrency().size() * options.rounds();
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

    /** The levels of the sweep. */
    int levelCount() {
        return options.concurrency().size();
    }

    /** The sweep's start, in the form reports carry it. */
    String now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /**
     * Sends the unmeasured warm-up requests (prompts numbered from 0), at most as many at once as the sweep's
     * highest level.
     */
    void warmUp() throws InterruptedException {
        if (options.warmup() > 0) {
            int warmupConcurrency = Math.min(options.warmup(), options.concurrency().stream().mapToInt(Integer::intValue).max().orElseThrow());
            sample(warmupConcurrency, options.warmup(), 0);
        }
    }

    /**
     * Measures level {@code i} of the sweep in round {@code round}. Its prompts are numbered after the warm-up's and
     * those of every level before it, so no prompt repeats, and two generators with the same options send the same
     * prompts at the same level and round.
     */
    Sample sample(int round, int i) throws InterruptedException {
        int requests = options.requestsPerLevel();
        return sample(options.concurrency().get(i), requests, options.warmup() + (round * levelCount() + i) * requests);
    }

    /** The report of a sweep from its samples: for each level, those of every round. */
    BenchReport report(String date, List<List<Sample>> samples) {
        List<LevelResult> levels = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            levels.add(summarize(options.concurrency().get(i), samples.get(i)));
        }
        return new BenchReport(options.baseUrl().toString(), options.model(), options.endpoint().name().toLowerCase(java.util.Locale.ROOT),
                options.promptTokens(), options.outputTokens(), date, levels, null);
    }

    /**
     * One run of a level: its requests' results, when it started, how long it took, and the load average at its end.
     */
    record Sample(String started, double seconds, RequestResult[] results, @Nullable Double loadAverage) {}

    /** Measures one level: {@code requests} requests (numbered from {@code firstIndex}) with {@code concurrency} in flight. */
    LevelResult level(int concurrency, int requests, int firstIndex) throws InterruptedException {
        return summarize(concurrency, List.of(sample(concurrency, requests, firstIndex)));
    }

    private Sample sample(int concurrency, int requests, int firstIndex) throws InterruptedException {
        upgradeToHttp2();
        RequestResult[] results = new RequestResult[requests];
        AtomicInteger next = new AtomicInteger();
        String started = clock.instant().truncatedTo(ChronoUnit.MILLIS).toString();
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < concurrency; w++) {
                workers.submit(() -> {
                    for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
                        results[i] = send(firstIndex + i);
                        onRequestDone.run();
                    }
                    return null;
                });
            }
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("the benchmark was interrupted");
        }
        return new Sample(started, (System.nanoTime() - start) / 1e9, results, LoadAverage.oneMinute());
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

    /** Sends request {@code index} and reads its stream to the end. */
    RequestResult send(int index) {
        HttpRequest.Builder request = HttpRequest.newBuilder(options.requestUri()).timeout(options.requestTimeout())
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(prompts.body(index)));
        if (options.apiKey() != null) {
            request.header("Authorization", "Bearer " + options.apiKey());
        }
        long start = System.nanoTime();
        try {
            HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() >= 400) {
                    body.readAllBytes();
                    return RequestResult.failed("http_" + response.statusCode(), (System.nanoTime() - start) / 1e6);
                }
                if (response.version() != version(options.http())) {
                    // Measured over another protocol than the one named: not a sample of what was asked.
                    body.readAllBytes();
                    return RequestResult.failed("served_over_" + response.version(), (System.nanoTime() - start) / 1e6);
                }
                SseAccumulator stream = new SseAccumulator(start);
                BufferedReader lines = new BufferedReader(new InputStreamReader(body, UTF_8));
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    stream.line(line, System.nanoTime());
                }
                return stream.finish(System.nanoTime());
            }
        } catch (HttpTimeoutException e) {
            return RequestResult.failed("timeout", (System.nanoTime() - start) / 1e6);
        } catch (IOException e) {
            return RequestResult.failed("connection", (System.nanoTime() - start) / 1e6);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return RequestResult.failed("interrupted", (System.nanoTime() - start) / 1e6);
        }
    }

    /**
     * A level's figures from its samples, pooled: rates are successful requests and their tokens over the samples'
     * summed wall time, percentiles are over every request (or gap) of every sample, the start is the first sample's
     * and the load average the mean of those known.
     */
    static LevelResult summarize(int concurrency, List<Sample> samples) {
        Map<String, Integer> errors = new HashMap<>();
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        long tokens = 0;
        int succeeded = 0;
        int requests = 0;
        double seconds = 0;
        double loadSum = 0;
        int loads = 0;
        for (Sample sample : samples) {
            seconds += sample.seconds();
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
                    ttft.add(r.ttftMs());
                }
                if (!Double.isNaN(r.tpotMs())) {
                    tpot.add(r.tpotMs());
                }
                for (double gap : r.itlMs()) {
                    itl.add(gap);
                }
            }
        }
        return new LevelResult(concurrency, samples.getFirst().started(), requests, requests - succeeded, errors, seconds,
                succeeded / seconds, tokens / seconds, succeeded == 0 ? 0 : (double) tokens / succeeded,
                Percentiles.of(array(ttft)), Percentiles.of(array(tpot)), Percentiles.of(array(itl)), Percentiles.of(array(e2e)),
                loads == 0 ? null : loadSum / loads);
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
