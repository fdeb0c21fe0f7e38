package ai.factory.bench;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * One sweep run against two OpenAI-compatible servers on the same machine, taking turns: both warm up, then each
 * level runs on the first server and then on the second (c=1 on one, c=1 on the other, c=2 on one, …), never both
 * at once, so the two see the same machine as closely as a shared machine allows. With several rounds the sweep
 * repeats, and the server that goes first at each level alternates from round to round, so neither always follows
 * the other. Both get the same prompts at the same level and round.
 */
public final class Comparison implements AutoCloseable {
    private final String name;
    private final String peerName;
    private final LoadGenerator generator;
    private final LoadGenerator peerGenerator;
    private final int rounds;

    /**
     * @param options the sweep against the first server
     * @param peerOptions the same sweep against the second: only the URL, key and model may differ
     * @param onRequestDone called after every request to either server, warm-up included
     */
    public Comparison(String name, BenchOptions options, String peerName, BenchOptions peerOptions, Clock clock, Runnable onRequestDone) {
        this(name, options, peerName, peerOptions, LoadGenerator.defaultTls(), clock, onRequestDone);
    }

    /** As the other constructor, trusting over https whom {@code tls} trusts, for both servers. */
    public Comparison(String name, BenchOptions options, String peerName, BenchOptions peerOptions, SSLContext tls, Clock clock,
                      Runnable onRequestDone) {
        this.name = requireNonNull(name, "name is null");
        this.peerName = requireNonNull(peerName, "peerName is null");
        requireNonNull(options, "options is null");
        requireNonNull(peerOptions, "peerOptions is null");
        if (options.endpoint() != peerOptions.endpoint() || !options.workload().equals(peerOptions.workload())
                || options.outputTokens() != peerOptions.outputTokens() || !options.concurrency().equals(peerOptions.concurrency())
                || options.requestsPerLevel() != peerOptions.requestsPerLevel() || options.warmup() != peerOptions.warmup()
                || options.rounds() != peerOptions.rounds()
                || options.vocabulary() != peerOptions.vocabulary()) {
            throw new IllegalArgumentException("a comparison runs the same sweep against both servers; only URL, key, "
                    + "model, response format and HTTP version may differ");
        }
        if (name.equals(peerName)) {
            throw new IllegalArgumentException("the two servers need different names: " + name);
        }
        this.rounds = options.rounds();
        this.generator = new LoadGenerator(options, tls, clock, onRequestDone);
        this.peerGenerator = new LoadGenerator(peerOptions, tls, clock, onRequestDone);
    }

    /** Every request the comparison sends to both servers, for a progress bar. */
    public long totalRequests() {
        return generator.totalRequests() + peerGenerator.totalRequests();
    }

    /** Warms both up, then runs the levels in turn, round after round. */
    public ComparisonReport run() throws InterruptedException {
        String date = generator.now();
        generator.warmUp();
        peerGenerator.warmUp();
        int count = generator.levelCount();
        List<List<LoadGenerator.Sample>> samples = new ArrayList<>();
        List<List<LoadGenerator.Sample>> peerSamples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            samples.add(new ArrayList<>());
            peerSamples.add(new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < count; i++) {
                if (round % 2 == 0) {
                    samples.get(i).add(generator.sample(round, i));
                    peerSamples.get(i).add(peerGenerator.sample(round, i));
                } else {
                    peerSamples.get(i).add(peerGenerator.sample(round, i));
                    samples.get(i).add(generator.sample(round, i));
                }
            }
        }
        return new ComparisonReport(name, peerName, generator.report(date, samples), peerGenerator.report(date, peerSamples));
    }

    @Override
    public void close() {
        try (generator) {
            peerGenerator.close();
        }
    }
}
