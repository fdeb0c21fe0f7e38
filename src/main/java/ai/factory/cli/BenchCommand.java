package ai.factory.cli;

import ai.factory.bench.BenchOptions;
import ai.factory.bench.BenchReport;
import ai.factory.bench.BenchReports;
import ai.factory.bench.Endpoint;
import ai.factory.bench.LoadGenerator;
import ai.factory.models.gguf.GgufReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code factory bench}: a load generator for any OpenAI-compatible endpoint. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure an OpenAI-compatible server (this factory or any other; no factory needed): a sweep over",
                "concurrency levels of streamed requests with fixed prompt and output lengths (ignore_eos + max_tokens + min_tokens).",
                "Per level: requests/s, output tokens/s, TTFT, TPOT and inter-token latency percentiles (linear interpolation), errors.",
                "Exit 0 when anything was measured, 1 when every request failed."})
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

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--output-tokens", defaultValue = "128", description = "Output tokens per request (default ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--concurrency", defaultValue = "1,2,4,8", split = ",", description = "Concurrency levels (default ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests-per-level", defaultValue = "32", description = "Requests measured per level (default ${DEFAULT-VALUE}).")
    int requestsPerLevel;

    @Option(names = "--warmup", defaultValue = "4", description = "Unmeasured requests before the sweep (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--vocab", description = "Prompt token ids are drawn below this (default 32000, valid for Llama 2 and 3 vocabularies).")
    Integer vocab;

    @Option(names = "--tokenizer", paramLabel = "FILE.gguf", description = "Take the vocabulary size from this GGUF model instead of --vocab.")
    Path tokenizer;

    @Option(names = "--timeout", defaultValue = "PT10M", description = "Per-request timeout, ISO-8601 (default 10 minutes).")
    Duration timeout;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Also write the table as Markdown.")
    Path markdown;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Also draw output tokens/s and TTFT p50 against concurrency.")
    Path chart;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws IOException, InterruptedException {
        BenchOptions options = options();
        BenchReport report;
        PrintWriter out = spec.commandLine().getOut();
        if (quiet) {
            try (LoadGenerator generator = new LoadGenerator(options, Clock.systemUTC(), () -> {})) {
                report = generator.run();
            }
        } else {
            ProgressBar[] bar = new ProgressBar[1];
            try (LoadGenerator generator = new LoadGenerator(options, Clock.systemUTC(), () -> bar[0].step());
                 ProgressBar progress = new ProgressBarBuilder().setTaskName("bench").setInitialMax(0)
                         .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
                bar[0] = progress;
                progress.maxHint(generator.totalRequests());
                report = generator.run();
            }
        }
        Table table = new Table(BenchReports.header().toArray(String[]::new));
        BenchReports.rows(report).forEach(row -> table.row(row.toArray()));
        out.printf("%s at %s (%s): %d prompt + %d output tokens per request%n", report.model(), report.target(), report.endpoint(),
                report.promptTokens(), report.outputTokens());
        table.print(out);
        if (json != null) {
            BenchReports.writeJson(report, json);
        }
        if (markdown != null) {
            BenchReports.writeMarkdown(report, markdown);
        }
        if (chart != null) {
            BenchReports.writeChart(report, chart);
        }
        if (report.allFailed()) {
            spec.commandLine().getErr().println("factory: every request failed; see the ERRORS column");
            return 1;
        }
        return 0;
    }

    private BenchOptions options() throws IOException {
        Endpoint chosen;
        try {
            chosen = Endpoint.valueOf(endpoint.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "unknown endpoint '%s'; choose completions or chat".formatted(endpoint));
        }
        if (vocab != null && tokenizer != null) {
            throw new ParameterException(spec.commandLine(), "give --vocab or --tokenizer, not both");
        }
        int vocabulary = tokenizer != null ? GgufReader.read(tokenizer).vocabularySize() : vocab != null ? vocab : 32000;
        try {
            return new BenchOptions(url, key == null || key.isBlank() ? null : key, model, chosen, promptTokens, outputTokens,
                    concurrency, requestsPerLevel, warmup, vocabulary, timeout);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
