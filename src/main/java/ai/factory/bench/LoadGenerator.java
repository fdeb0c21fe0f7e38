package ai.factory.bench;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
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
        this.options = requireNonNull(options, "options is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.onRequestDone = requireNonNull(onRequestDone, "onRequestDone is null");
        this.prompts = new Prompts(options);
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .executor(clientExecutor).build();
    }

    /** Every request the sweep sends, warm-up included, for a progress bar. */
    public long totalRequests() {
        return options.warmup() + (long) options.requestsPerLevel() * options.concurrency().size();
    }

    /** Runs the warm-up, then every level. */
    public BenchReport run() throws InterruptedException {
        String date = now();
        warmUp();
        List<LevelResult> levels = new ArrayList<>();
        for (int i = 0; i < options.concurrency().size(); i++) {
            levels.add(level(i));
        }
        return report(date, levels);
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
            level(warmupConcurrency, options.warmup(), 0);
        }
    }

    /**
     * Measures level {@code i} of the sweep. Its prompts are numbered after the warm-up's and the earlier levels', so
     * no prompt repeats, and two generators with the same options send the same prompts at the same level.
     */
    LevelResult level(int i) throws InterruptedException {
        return level(options.concurrency().get(i), options.requestsPerLevel(), options.warmup() + i * options.requestsPerLevel());
    }

    BenchReport report(String date, List<LevelResult> levels) {
        return new BenchReport(options.baseUrl().toString(), options.model(), options.endpoint().name().toLowerCase(java.util.Locale.ROOT),
                options.promptTokens(), options.outputTokens(), date, levels, null);
    }

    /** Sends {@code requests} requests (numbered from {@code firstIndex}) with {@code concurrency} in flight. */
    LevelResult level(int concurrency, int requests, int firstIndex) throws InterruptedException {
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
        return summarize(concurrency, started, results, (System.nanoTime() - start) / 1e9, LoadAverage.oneMinute());
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

    static LevelResult summarize(int concurrency, String started, RequestResult[] results, double seconds, Double loadAverage) {
        Map<String, Integer> errors = new HashMap<>();
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        long tokens = 0;
        int succeeded = 0;
        for (RequestResult r : results) {
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
        return new LevelResult(concurrency, started, results.length, results.length - succeeded, errors, seconds,
                succeeded / seconds, tokens / seconds, succeeded == 0 ? 0 : (double) tokens / succeeded,
                Percentiles.of(array(ttft)), Percentiles.of(array(tpot)), Percentiles.of(array(itl)), Percentiles.of(array(e2e)),
                loadAverage);
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
