package ai.factory.cli;

import static java.util.Objects.requireNonNull;

import ai.factory.Json;
import ai.factory.bench.BenchOptions;
import ai.factory.bench.BenchReport;
import ai.factory.bench.BenchReports;
import ai.factory.bench.Comparison;
import ai.factory.bench.ComparisonReport;
import ai.factory.bench.Endpoint;
import ai.factory.bench.LoadGenerator;
import ai.factory.bench.MemoryBandwidth;
import ai.factory.bench.PromptLength;
import ai.factory.bench.Roofline;
import ai.factory.bench.RooflineReport;
import ai.factory.bench.Workload;
import ai.factory.config.Units;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.models.gguf.GgufReader;
import ai.factory.security.tls.SiteTrust;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code factory bench}: a load generator for any OpenAI-compatible endpoint. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure an OpenAI-compatible server (this factory or any other; no factory needed): a sweep "
                + "over concurrency levels (or, open-loop, Poisson arrival rates) of streamed requests with fixed "
                + "output lengths (ignore_eos + max_tokens + min_tokens) and prompts of a given length or length "
                + "distribution, optionally after a shared prefix and in sessions of several turns.",
                "Per level: requests/s, output tokens/s, TTFT (turn 1 and turns 2+ apart), TPOT and inter-token "
                        + "latency percentiles (linear interpolation), ITL p99.9 and stalls (gaps over 5x the "
                        + "level's ITL p50), errors, and the machine's load average.",
                "With --peer-url, the same sweep runs against a second server, level by level in turn, and a side-by-side "
                        + "table gives the ratios. With --model-file, a STREAM-like probe measures the memory bandwidth "
                        + "first and single-stream decoding is reported as a fraction of the model's bandwidth roofline.",
                "Exit 0 when anything was measured, 1 when every request (of either server) failed."})
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080/v1", description = "The API base (default ${DEFAULT-VALUE}).")
    URI url;

    @Option(names = "--key", defaultValue = "${env:FACTORY_API_KEY}", description = "API key (default: $FACTORY_API_KEY; none if unset).")
    String key;

    @Option(names = "--model", required = true, description = "The model to request.")
    String model;

    @Option(names = "--endpoint", defaultValue = "completions",
            description = "completions (token-id prompts, exact lengths; default) or chat (text prompts of about the length).")
    String endpoint;

    @Option(names = "--prompt-tokens", defaultValue = "128", paramLabel = "N|uniform:LOW-HIGH|normal:MEAN,SD",
            description = "Each prompt's own, distinct tokens, after the shared prefix: a length, or a distribution "
                    + "each prompt's length is drawn from with --seed, e.g. uniform:512-1536 (both ends included) or "
                    + "normal:1024,256 (mean, sd; at least 1) (default ${DEFAULT-VALUE}).")
    String promptTokens;

    @Option(names = "--shared-prefix-tokens", defaultValue = "0", description = "Tokens every prompt starts with, "
            + "the same in every request of the run and for both servers of a comparison (for chat, a system "
            + "message); --prompt-tokens then counts the distinct tokens after it (default ${DEFAULT-VALUE}).")
    int sharedPrefixTokens;

    @Option(names = "--turns", defaultValue = "1", description = "Requests per session: turn k's prompt is turn "
            + "k-1's, its answer and --turn-tokens new tokens (for chat: an assistant and a new user message; for "
            + "completions the prompts are then text). TTFT of turns 2+ is reported apart from turn 1's. "
            + "--requests-per-level and --warmup count sessions (default ${DEFAULT-VALUE}).")
    int turns;

    @Option(names = "--turn-tokens", defaultValue = "100",
            description = "The new tokens each turn after the first adds (default ${DEFAULT-VALUE}).")
    int turnTokens;

    @Option(names = "--arrival", defaultValue = "closed", paramLabel = "closed|poisson", description = "closed: each "
            + "level keeps its --concurrency in flight (default); poisson: open loop, sessions start at the times of "
            + "a Poisson process of --rate per second however many are in flight, one level per rate, labelled by "
            + "it (--concurrency then only bounds the warm-up).")
    String arrival;

    @Option(names = "--rate", split = ",", paramLabel = "R[,R...]",
            description = "With --arrival poisson: sessions started per second, one level per rate.")
    @Nullable List<Double> rate;

    @Option(names = "--max-in-flight", defaultValue = "256", description = "With --arrival poisson: the most "
            + "sessions in flight; an arrival beyond waits, and the HELD column counts it (default ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--seed", defaultValue = "1", description = "Seeds the prompts' lengths and tokens and the arrival "
            + "times: the same seed sends the same prompts (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--output-tokens", defaultValue = "128", description = "Output tokens per request (default ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--concurrency", defaultValue = "1,2,4,8", split = ",", description = "Concurrency levels (default ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests-per-level", defaultValue = "32", description = "Requests (sessions, with "
            + "--turns) measured per level (default ${DEFAULT-VALUE}).")
    int requestsPerLevel;

    @Option(names = "--rounds", defaultValue = "1", description = "Run the sweep's levels this many times, one after the "
            + "other, and pool each level's requests over the rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "4", description = "Unmeasured requests (sessions) before the sweep "
            + "(default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--name", defaultValue = "factory", description = "What the server at --url is called in tables (default ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--ca-cert", paramLabel = "FILE", defaultValue = "${env:FACTORY_CA_CERT}",
            description = "A CA certificate (PEM) to trust over https beside the JDK's, for both servers, e.g. a factory's "
                    + "$FACTORY_HOME/tls/ca.pem (default: $FACTORY_CA_CERT).")
    Path caCert;

    @Option(names = "--http", defaultValue = "1.1", paramLabel = "1.1|2", description = {"The HTTP version to ask for "
            + "(default ${DEFAULT-VALUE}): 2 is negotiated by ALPN over https and by Upgrade: h2c over http."})
    String http;

    @Option(names = "--peer-http", paramLabel = "1.1|2", description = "The HTTP version for the second server (default: --http).")
    @Nullable String peerHttp;

    @Option(names = "--peer-url", description = "A second server to run the same sweep against, in turn, for a side-by-side table.")
    @Nullable URI peerUrl;

    @Option(names = "--peer-model", description = "The model to request from the second server (default: --model).")
    @Nullable String peerModel;

    @Option(names = "--peer-key", description = "The second server's API key (default: none).")
    @Nullable String peerKey;

    @Option(names = "--peer-name", defaultValue = "peer", description = "What the second server is called in tables (default ${DEFAULT-VALUE}).")
    String peerName;

    @Option(names = "--response-format", paramLabel = "FILE.json", description = "With --endpoint chat: the response_format of "
            + "every request (e.g. a json_schema), so every token is sampled under its grammar; 'none' for free text "
            + "(default).")
    @Nullable String responseFormat;

    @Option(names = "--peer-response-format", paramLabel = "FILE.json",
            description = "The response_format of the second server's requests, or 'none' (default: --response-format).")
    @Nullable String peerResponseFormat;

    @Option(names = "--vocab", description = "Prompt token ids are drawn below this (default 32000, valid for Llama 2 and 3 vocabularies).")
    @Nullable Integer vocab;

    @Option(names = "--tokenizer", paramLabel = "FILE.gguf", description = "Take the vocabulary size from this GGUF model instead of --vocab.")
    @Nullable Path tokenizer;

    @Option(names = "--model-file", paramLabel = "FILE.gguf",
            description = "The served model's GGUF: its vocabulary, and its bytes per token for the bandwidth roofline, "
                    + "which then runs the memory-bandwidth probe before the sweep.")
    @Nullable Path modelFile;

    @Option(names = "--bandwidth-threads", description = "Threads of the bandwidth probe, as many as the server decodes with "
            + "(default: one per processor).")
    @Nullable Integer bandwidthThreads;

    @Option(names = "--bandwidth-buffer", defaultValue = "256MiB",
            description = "Each of the probe's three arrays; far larger than the caches (default ${DEFAULT-VALUE}).")
    String bandwidthBuffer;

    @Option(names = "--timeout", defaultValue = "PT10M", description = "Per-request timeout, ISO-8601 (default 10 minutes).")
    Duration timeout;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    @Nullable Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Also write the table as Markdown.")
    @Nullable Path markdown;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Also draw output tokens/s and TTFT p50 against "
            + "concurrency (or rate), over a panel of ITL p99.")
    @Nullable Path chart;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    private BenchOptions.Http version(String given) {
        return switch (given) {
            case "1.1" -> BenchOptions.Http.HTTP_1_1;
            case "2" -> BenchOptions.Http.HTTP_2;
            default -> throw new ParameterException(spec.commandLine(), "--http and --peer-http take 1.1 or 2, not " + given);
        };
    }

    private SSLContext tls() {
        return SiteTrust.context(caCert == null ? List.of() : List.of(caCert));
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        BenchOptions options = options(url, key, model, responseFormat).withHttp(version(http));
        BenchOptions peerOptions = peerUrl == null ? null : options(peerUrl, peerKey, peerModel == null ? model : peerModel,
                peerResponseFormat == null ? responseFormat : peerResponseFormat)
                .withHttp(version(peerHttp == null ? http : peerHttp));
        long arrayBytes = arrayBytes();
        int threads = requireNonNull(bandwidthThreads, "arrayBytes() settles the probe's threads");
        Roofline roofline = modelFile == null ? null : Roofline.of(GgufReader.read(modelFile), CacheType.F16);
        PrintWriter out = spec.commandLine().getOut();
        if (peerOptions != null && name.equals(peerName)) {
            throw new ParameterException(spec.commandLine(), "--name and --peer-name must differ: " + name);
        }
        MemoryBandwidth.Result bandwidth = null;
        if (roofline != null) {
            if (!quiet) {
                spec.commandLine().getErr().printf("bench: measuring memory bandwidth (%d threads, 3 × %d MiB)...%n", threads,
                        arrayBytes >> 20);
            }
            bandwidth = MemoryBandwidth.measure(threads, arrayBytes, 5);
        }
        if (peerOptions == null) {
            BenchReport report;
            try (ProgressBar bar = progressBar();
                 LoadGenerator generator = new LoadGenerator(options, tls(), Clock.systemUTC(), step(bar))) {
                hint(bar, generator.totalRequests());
                report = generator.run();
            }
            if (bandwidth != null && roofline != null) {
                report = report.withRoofline(RooflineReport.of(bandwidth, roofline, report));
            }
            print(out, null, report);
            if (json != null) {
                BenchReports.writeJson(report, json);
            }
            if (markdown != null) {
                BenchReports.writeMarkdown(report, markdown);
            }
            if (chart != null) {
                BenchReports.writeChart(report, chart);
            }
            return failed(report.allFailed());
        }
        ComparisonReport comparison;
        try (ProgressBar bar = progressBar();
             Comparison run = new Comparison(name, options, peerName, peerOptions, tls(), Clock.systemUTC(), step(bar))) {
            hint(bar, run.totalRequests());
            comparison = run.run();
        }
        if (bandwidth != null && roofline != null) {
            comparison = new ComparisonReport(name, peerName,
                    comparison.report().withRoofline(RooflineReport.of(bandwidth, roofline, comparison.report())),
                    comparison.peer().withRoofline(RooflineReport.of(bandwidth, roofline, comparison.peer())));
        }
        Table sideBySide = new Table(BenchReports.comparisonHeader(comparison).toArray(String[]::new));
        BenchReports.comparisonRows(comparison).forEach(row -> sideBySide.row(row.toArray()));
        out.printf("%s (%s) and %s (%s), ratios %s ÷ %s:%n", name, comparison.report().target(), peerName,
                comparison.peer().target(), name, peerName);
        sideBySide.print(out);
        out.println();
        print(out, name, comparison.report());
        out.println();
        print(out, peerName, comparison.peer());
        if (json != null) {
            BenchReports.writeJson(comparison, json);
        }
        if (markdown != null) {
            BenchReports.writeMarkdown(comparison, markdown);
        }
        if (chart != null) {
            BenchReports.writeChart(comparison, chart);
        }
        return failed(comparison.report().allFailed() || comparison.peer().allFailed());
    }

    /** A progress bar on stderr, or null with --quiet. */
    private @Nullable ProgressBar progressBar() {
        return quiet ? null : new ProgressBarBuilder().setTaskName("bench").setInitialMax(0).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
    }

    private static Runnable step(@Nullable ProgressBar bar) {
        return bar == null ? () -> {} : bar::step;
    }

    private static void hint(@Nullable ProgressBar bar, long requests) {
        if (bar != null) {
            bar.maxHint(requests);
        }
    }

    /** A report's table under a line saying what was measured, headed by {@code title} unless it is null. */
    private static void print(PrintWriter out, @Nullable String title, BenchReport report) {
        Table table = new Table(BenchReports.header(report).toArray(String[]::new));
        BenchReports.rows(report).forEach(row -> table.row(row.toArray()));
        out.printf("%s%s at %s (%s): %s%n", title == null ? "" : title + ": ", report.model(), report.target(),
                report.endpoint(), report.describe());
        table.print(out);
        if (report.roofline() != null) {
            out.println(report.roofline().describe());
        }
    }

    private int failed(boolean allFailed) {
        if (allFailed) {
            spec.commandLine().getErr().println("factory: every request failed; see the ERRORS column");
            return 1;
        }
        return 0;
    }

    private long arrayBytes() {
        long bytes;
        try {
            bytes = Units.parseSize(bandwidthBuffer);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--bandwidth-buffer: " + e.getMessage());
        }
        if (bandwidthThreads == null) {
            bandwidthThreads = Runtime.getRuntime().availableProcessors();
        }
        if (bandwidthThreads < 1 || bandwidthThreads > 4096) {
            throw new ParameterException(spec.commandLine(), "--bandwidth-threads must be between 1 and 4096: " + bandwidthThreads);
        }
        if (bytes < (long) Double.BYTES * bandwidthThreads) {
            throw new ParameterException(spec.commandLine(), "--bandwidth-buffer is too small: " + bandwidthBuffer);
        }
        return bytes;
    }

    /** The prompts, sessions and arrivals the options ask for; an IllegalArgumentException says what is wrong. */
    private Workload workload() {
        PromptLength length;
        try {
            length = PromptLength.parse(promptTokens);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prompt-tokens: " + e.getMessage(), e);
        }
        Workload.Arrival kind = switch (arrival) {
            case "closed" -> Workload.Arrival.CLOSED;
            case "poisson" -> Workload.Arrival.POISSON;
            default -> throw new IllegalArgumentException("--arrival takes closed or poisson, not " + arrival);
        };
        return new Workload(length, sharedPrefixTokens, turns, turnTokens, kind, rate == null ? List.of() : rate,
                maxInFlight, seed);
    }

    private BenchOptions options(URI target, @Nullable String apiKey, String requested, @Nullable String format)
            throws IOException {
        Endpoint chosen;
        try {
            chosen = Endpoint.valueOf(endpoint.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "unknown endpoint '%s'; choose completions or chat".formatted(endpoint));
        }
        if ((vocab != null ? 1 : 0) + (tokenizer != null ? 1 : 0) + (modelFile != null ? 1 : 0) > 1) {
            throw new ParameterException(spec.commandLine(), "give one of --vocab, --tokenizer and --model-file, not several");
        }
        Path vocabularyFile = tokenizer != null ? tokenizer : modelFile;
        int vocabulary = vocabularyFile != null ? GgufReader.read(vocabularyFile).vocabularySize() : vocab != null ? vocab : 32000;
        try {
            return new BenchOptions(target, apiKey == null || apiKey.isBlank() ? null : apiKey, requested, chosen,
                    workload(), outputTokens, concurrency, requestsPerLevel, rounds, warmup, vocabulary, timeout,
                    format == null || format.equals("none") ? null : Json.mapper().readTree(Path.of(format).toFile()));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
