package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.Json;
import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCli;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The load generator against a real factory serving the tiny model. */
@ServerTest
class BenchTest {
    private static final String MODEL = "acme/bench-tiny";
    /** The second "server" of comparisons: another deployment of the same model, behind the same API. */
    private static final String PEER = "acme/bench-tiny-peer";

    @TempDir
    static Path home;

    @TempDir
    Path dir;

    static TestFactory factory;

    @BeforeAll
    static void start() {
        Path gguf = TestModels.tinyLlama();
        factory = TestFactory.start(home);
        factory.deployGguf(MODEL, gguf, "\"parallel\": 2, \"context\": 256, \"queue\": 16");
        factory.deployGguf(PEER, gguf, "\"parallel\": 2, \"context\": 256, \"queue\": 16");
    }

    @AfterAll
    static void stop() {
        if (factory != null) {
            factory.close();
        }
    }

    private static BenchOptions options(String key, Endpoint endpoint) {
        return new BenchOptions(URI.create(factory.url() + "/v1"), key, MODEL, endpoint, 16, 8, List.of(1, 2), 2, 1, 32000,
                Duration.ofMinutes(1));
    }

    @Test
    void sweepMeasuresEveryLevelWithExactOutputLengths() throws InterruptedException {
        AtomicInteger done = new AtomicInteger();
        BenchReport report;
        try (LoadGenerator generator = new LoadGenerator(options(factory.adminKey(), Endpoint.COMPLETIONS), Clock.systemUTC(),
                done::incrementAndGet)) {
            report = generator.run();
            assertThat(done.get()).isEqualTo(generator.totalRequests()).isEqualTo(5);
        }
        assertThat(report.levels()).extracting(LevelResult::concurrency).containsExactly(1, 2);
        for (LevelResult level : report.levels()) {
            assertThat(level.requests()).isEqualTo(2);
            assertThat(level.errors()).as("errors %s", level.errorsByKind()).isZero();
            assertThat(level.meanOutputTokens()).isEqualTo(8);
            assertThat(level.outputTokensPerSecond()).isPositive();
            assertThat(level.requestsPerSecond()).isPositive();
            assertThat(level.ttftMs().p50()).isPositive().isLessThanOrEqualTo(level.e2eMs().p50());
            assertThat(level.ttftMs().p99()).isLessThanOrEqualTo(level.e2eMs().p99());
            assertThat(level.tpotMs().p50()).isPositive();
            assertThat(level.itlMs()).isNotNull();
        }
    }

    @Test
    void chatRequestsAreMeasuredToo() throws InterruptedException {
        try (LoadGenerator generator = new LoadGenerator(options(factory.adminKey(), Endpoint.CHAT), Clock.systemUTC(), () -> {})) {
            LevelResult level = generator.level(2, 2, 0);
            assertThat(level.errors()).as("errors %s", level.errorsByKind()).isZero();
            assertThat(level.meanOutputTokens()).isEqualTo(8);
        }
    }

    @Test
    void http2IsMeasuredOverHttp2() throws InterruptedException {
        // Over http the JDK's client asks for HTTP/2 with Upgrade: h2c; a response over another version would count
        // as an error (served_over_HTTP_1_1), so none means every sample was HTTP/2.
        try (LoadGenerator generator = new LoadGenerator(options(factory.adminKey(), Endpoint.CHAT)
                .withHttp(BenchOptions.Http.HTTP_2), Clock.systemUTC(), () -> {})) {
            LevelResult level = generator.level(2, 2, 0);
            assertThat(level.errors()).as("errors %s", level.errorsByKind()).isZero();
            assertThat(level.meanOutputTokens()).isEqualTo(8);
        }
    }

    @Test
    void aWrongKeyIsCountedAsErrorsNotThrown() throws InterruptedException {
        try (LoadGenerator generator = new LoadGenerator(options("sk-wrong", Endpoint.COMPLETIONS), Clock.systemUTC(), () -> {})) {
            BenchReport report = generator.run();
            assertThat(report.allFailed()).isTrue();
            assertThat(report.levels()).allSatisfy(level -> {
                assertThat(level.errorsByKind()).containsExactly(java.util.Map.entry("http_401", 2));
                assertThat(level.outputTokensPerSecond()).isZero();
                assertThat(level.ttftMs()).isNull();
            });
        }
    }

    @Test
    void aServerThatIsNotThereGivesConnectionErrors() throws InterruptedException {
        BenchOptions options = new BenchOptions(URI.create("http://127.0.0.1:1/v1"), null, MODEL, Endpoint.COMPLETIONS, 4, 4,
                List.of(1), 2, 0, 32000, Duration.ofSeconds(10));
        try (LoadGenerator generator = new LoadGenerator(options, Clock.systemUTC(), () -> {})) {
            assertThat(generator.run().levels().getFirst().errorsByKind()).containsEntry("connection", 2);
        }
    }

    @Test
    void commandPrintsTheTableAndWritesJsonMarkdownAndChart() throws IOException {
        Path json = dir.resolve("bench.json");
        Path markdown = dir.resolve("bench.md");
        Path chart = dir.resolve("bench.png");
        Result result = cli("bench", "--url", factory.url() + "/v1", "--key", factory.adminKey(), "--model", MODEL,
                "--prompt-tokens", "8", "--output-tokens", "4", "--concurrency", "1,2", "--requests-per-level", "2",
                "--warmup", "0", "--quiet", "--tokenizer", TestModels.tinyLlama().toString(), "--json", json.toString(), "--markdown", markdown.toString(), "--chart", chart.toString());
        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out()).contains("CONC").contains("OUT TOK/S").contains(MODEL);

        JsonNode report = Json.mapper().readTree(json.toFile());
        assertThat(report.path("target").asText()).isEqualTo(factory.url() + "/v1");
        assertThat(report.path("model").asText()).isEqualTo(MODEL);
        assertThat(report.path("promptTokens").asInt()).isEqualTo(8);
        assertThat(report.path("outputTokens").asInt()).isEqualTo(4);
        assertThat(report.path("levels")).hasSize(2);
        JsonNode level = report.path("levels").get(1);
        assertThat(level.path("concurrency").asInt()).isEqualTo(2);
        assertThat(level.path("requests").asInt()).isEqualTo(2);
        assertThat(level.path("errors").asInt()).isZero();
        assertThat(level.path("outputTokensPerSecond").asDouble()).isPositive();
        assertThat(level.path("ttftMs").path("p90").isNumber()).isTrue();
        assertThat(level.path("tpotMs").path("p99").isNumber()).isTrue();
        assertThat(level.path("itlMs").path("p50").isNumber()).isTrue();

        assertThat(Files.readString(markdown)).contains("| CONC |").contains("| 2 | 2 | 0 |");
        byte[] png = Files.readAllBytes(chart);
        assertThat(Arrays.copyOf(png, 8)).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');
    }

    @Test
    void commandRunsChatSessionsAfterASharedPrefix() throws IOException {
        Path json = dir.resolve("sessions.json");
        Result result = cli("bench", "--url", factory.url() + "/v1", "--key", factory.adminKey(), "--model", MODEL,
                "--endpoint", "chat", "--shared-prefix-tokens", "12", "--prompt-tokens", "4", "--turns", "2",
                "--turn-tokens", "4", "--output-tokens", "4", "--concurrency", "2", "--requests-per-level", "2",
                "--warmup", "0", "--quiet", "--json", json.toString());
        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out()).contains("12 shared + 4 own prompt tokens").contains("TTFT turns 2+ p50/p90 ms")
                .contains("ITL p99.9 ms");

        JsonNode report = Json.mapper().readTree(json.toFile());
        assertThat(report.path("workload").path("sharedPrefixTokens").asInt()).isEqualTo(12);
        assertThat(report.path("workload").path("promptTokens").asText()).isEqualTo("4");
        assertThat(report.path("workload").path("turns").asInt()).isEqualTo(2);
        JsonNode level = report.path("levels").get(0);
        assertThat(level.path("requests").asInt()).as("two sessions of two turns").isEqualTo(4);
        assertThat(level.path("errors").asInt()).as(level.path("errorsByKind").toString()).isZero();
        assertThat(level.path("ttftMs").path("p50").asDouble()).isPositive();
        assertThat(level.path("laterTurnsTtftMs").path("p90").asDouble()).isPositive();
        assertThat(level.path("itlTail").path("gaps").asInt()).isEqualTo(4 * 3);
        assertThat(level.path("itlTail").path("stallShare").isNumber()).isTrue();
    }

    @Test
    void completionSessionsArriveOpenLoop() throws InterruptedException {
        Workload workload = new Workload(PromptLength.parse("uniform:4-8"), 8, 2, 4, Workload.Arrival.POISSON,
                List.of(20.0), 2, 3);
        BenchOptions options = new BenchOptions(URI.create(factory.url() + "/v1"), factory.adminKey(), MODEL,
                Endpoint.COMPLETIONS, workload, 4, List.of(1), 2, 1, 0, 32000, Duration.ofMinutes(1), null);
        try (LoadGenerator generator = new LoadGenerator(options, Clock.systemUTC(), () -> {})) {
            BenchReport report = generator.run();
            LevelResult level = report.levels().getFirst();
            assertThat(level.label()).isEqualTo("20/s");
            assertThat(level.concurrency()).isEqualTo(2);
            assertThat(level.requests()).isEqualTo(4);
            assertThat(level.errors()).as("errors %s", level.errorsByKind()).isZero();
            assertThat(level.meanOutputTokens()).isEqualTo(4);
            assertThat(level.laterTurnsTtftMs()).isNotNull();
            assertThat(report.promptTokens()).isEqualTo(8 + 6);
        }
    }

    @Test
    void commandExitsOneWhenEveryRequestFailsAndTwoOnBadOptions() {
        Result failed = cli("bench", "--url", factory.url() + "/v1", "--key", "sk-wrong", "--model", MODEL, "--concurrency", "1",
                "--requests-per-level", "1", "--warmup", "0", "--quiet");
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(failed.out()).contains("http_401");
        assertThat(failed.err()).contains("every request failed");

        assertThat(cli("bench", "--model", MODEL, "--endpoint", "embeddings").exit()).isEqualTo(2);
        assertThat(cli("bench", "--model", MODEL, "--http", "3").err()).contains("--http and --peer-http take 1.1 or 2, not 3");
        assertThat(cli("bench", "--model", MODEL, "--concurrency", "0").err()).contains("concurrency levels must be between 1 and 4096");
        assertThat(cli("bench", "--model", MODEL, "--vocab", "100", "--tokenizer", TestModels.tinyLlama().toString()).err())
                .contains("give one of --vocab, --tokenizer and --model-file");
    }

    @Test
    void comparisonRunsEachLevelOnOneServerThenTheOtherNeverTogether() throws InterruptedException {
        BenchOptions peer = new BenchOptions(URI.create(factory.url() + "/v1"), factory.adminKey(), PEER, Endpoint.COMPLETIONS, 16, 8,
                List.of(1, 2), 2, 1, 32000, Duration.ofMinutes(1));
        AtomicInteger done = new AtomicInteger();
        ComparisonReport comparison;
        try (Comparison run = new Comparison("first", options(factory.adminKey(), Endpoint.COMPLETIONS), "second", peer,
                Clock.systemUTC(), done::incrementAndGet)) {
            comparison = run.run();
            assertThat(done.get()).isEqualTo(run.totalRequests()).isEqualTo(10);
        }
        assertThat(comparison.report().model()).isEqualTo(MODEL);
        assertThat(comparison.peer().model()).isEqualTo(PEER);
        List<LevelResult> first = comparison.report().levels();
        List<LevelResult> second = comparison.peer().levels();
        // first c=1, second c=1, first c=2, second c=2: each starts after the one before it has finished.
        List<LevelResult> order = List.of(first.get(0), second.get(0), first.get(1), second.get(1));
        for (int i = 1; i < order.size(); i++) {
            Instant previousEnd = Instant.parse(order.get(i - 1).started()).plusMillis((long) (order.get(i - 1).seconds() * 1000));
            assertThat(Instant.parse(order.get(i).started())).isAfterOrEqualTo(previousEnd.minusMillis(1));
        }
        assertThat(comparison.rows()).allSatisfy(row -> {
            assertThat(row.outputTokensRatio()).isPositive();
            assertThat(row.ttftRatio()).isPositive();
        });
        assertThat(first).allSatisfy(level -> assertThat(level.errors()).isZero());
        assertThat(second).allSatisfy(level -> assertThat(level.errors()).isZero());
    }

    @Test
    void commandComparesTwoServersAndReportsTheRoofline() throws IOException {
        Path json = dir.resolve("compare.json");
        Path markdown = dir.resolve("compare.md");
        Path chart = dir.resolve("compare.png");
        Result result = cli("bench", "--url", factory.url() + "/v1", "--key", factory.adminKey(), "--model", MODEL, "--name", "one",
                "--peer-url", factory.url() + "/v1", "--peer-key", factory.adminKey(), "--peer-model", PEER, "--peer-name", "two",
                "--prompt-tokens", "8", "--output-tokens", "4", "--concurrency", "1,2", "--requests-per-level", "2", "--warmup", "1",
                "--quiet", "--model-file", TestModels.tinyLlama().toString(), "--bandwidth-threads", "2", "--bandwidth-buffer", "4MiB",
                "--json", json.toString(), "--markdown", markdown.toString(), "--chart", chart.toString());
        assertThat(result.exit()).as(result.err()).isZero();
        assertThat(result.out()).contains("ratios one ÷ two").contains("OUT TOK/S one").contains("one: " + MODEL).contains("two: " + PEER)
                .contains("memory bandwidth").contains("of the roofline");

        JsonNode report = Json.mapper().readTree(json.toFile());
        assertThat(report.path("name").asText()).isEqualTo("one");
        assertThat(report.path("peerName").asText()).isEqualTo("two");
        assertThat(report.path("report").path("model").asText()).isEqualTo(MODEL);
        assertThat(report.path("peer").path("model").asText()).isEqualTo(PEER);
        assertThat(report.path("peer").path("levels")).hasSize(2);
        JsonNode roofline = report.path("report").path("roofline");
        assertThat(roofline.path("threads").asInt()).isEqualTo(2);
        assertThat(roofline.path("arrayBytes").asLong()).isEqualTo(4 << 20);
        assertThat(roofline.path("bandwidthGBps").asDouble()).isPositive();
        assertThat(roofline.path("weightBytesPerToken").asLong()).isPositive();
        assertThat(roofline.path("position").asLong()).isEqualTo(8 + 2);
        assertThat(roofline.path("fraction").asDouble()).isPositive();
        assertThat(report.path("peer").path("roofline").path("fraction").asDouble()).isPositive();
        assertThat(report.path("report").path("levels").get(0).path("started").asText()).isNotEmpty();

        assertThat(Files.readString(markdown)).contains("| CONC | OUT TOK/S one | OUT TOK/S two | one ÷ two |").contains("**two**");
        byte[] png = Files.readAllBytes(chart);
        assertThat(Arrays.copyOf(png, 8)).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');
    }

    @Test
    void commandRefusesBadComparisonAndProbeOptions() {
        String url = factory.url() + "/v1";
        assertThat(cli("bench", "--url", url, "--model", MODEL, "--peer-url", url, "--name", "x", "--peer-name", "x").err())
                .contains("--name and --peer-name must differ");
        assertThat(cli("bench", "--model", MODEL, "--bandwidth-buffer", "lots").err()).contains("--bandwidth-buffer");
        assertThat(cli("bench", "--model", MODEL, "--bandwidth-threads", "0").err()).contains("--bandwidth-threads must be between 1 and 4096");
        assertThat(cli("bench", "--model", MODEL, "--bandwidth-buffer", "8", "--bandwidth-threads", "2").exit()).isEqualTo(2);
        assertThat(cli("bench", "--model", MODEL, "--vocab", "100", "--model-file", TestModels.tinyLlama().toString()).err())
                .contains("give one of --vocab, --tokenizer and --model-file");
        assertThat(cli("bench", "--model", MODEL, "--peer-url", "ftp://x/v1").err()).contains("must be http or https");
    }

    record Result(int exit, String out, String err) {}

    private static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FactoryCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(exit, out.toString(), err.toString());
    }
}
