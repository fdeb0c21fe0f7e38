package ai.factory.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.factory.Json;
import ai.factory.cli.FactoryCli;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Prompt lengths, shared prefixes, sessions, Poisson arrivals and the gaps' tail, without a server. */
class BenchWorkloadTest {
    private static final URI URL = URI.create("http://127.0.0.1:1/v1");

    private static Workload workload(PromptLength length, int prefix, int turns, int turnTokens, long seed) {
        return new Workload(length, prefix, turns, turnTokens, Workload.Arrival.CLOSED, List.of(), 256, seed);
    }

    private static BenchOptions options(Endpoint endpoint, Workload workload) {
        return new BenchOptions(URL, null, "m", endpoint, workload, 8, List.of(1, 2), 4, 1, 0, 32000,
                Duration.ofSeconds(1), null);
    }

    private static Prompts prompts(Endpoint endpoint, PromptLength length, int prefix, int turns, int turnTokens,
                                   long seed) {
        return new Prompts(options(endpoint, workload(length, prefix, turns, turnTokens, seed)));
    }

    /** The token ids of session {@code session}'s first prompt. */
    private static int[] ids(Prompts prompts, int session) {
        return ((Prompts.Prompt.Ids) prompts.first(session).prompt()).ids();
    }

    private static List<Prompts.Message> messages(Prompts.Turn turn) {
        return ((Prompts.Prompt.Chat) turn.prompt()).messages();
    }

    @Test
    void parsesFixedUniformAndNormalPromptLengths() {
        assertThat(PromptLength.parse("128")).isEqualTo(new PromptLength.Fixed(128));
        assertThat(PromptLength.parse("uniform:512-1536")).isEqualTo(new PromptLength.Uniform(512, 1536));
        assertThat(PromptLength.parse(" normal:1024,256 ")).isEqualTo(new PromptLength.Normal(1024, 256));
        assertThat(PromptLength.parse("normal:1024.5,0.5")).isEqualTo(new PromptLength.Normal(1024.5, 0.5));
        for (String spec : List.of("128", "uniform:512-1536", "normal:1024,256", "normal:1024.5,0.5")) {
            assertThat(PromptLength.parse(spec).spec()).isEqualTo(spec);
        }
    }

    @Test
    void refusesBadPromptLengthsSayingWhatIsWrong() {
        assertThatThrownBy(() -> PromptLength.parse("uniform:9-3")).hasMessageContaining("needs LOW ≤ HIGH: 9-3");
        assertThatThrownBy(() -> PromptLength.parse("normal:x")).hasMessageContaining("normal:MEAN,SD");
        assertThatThrownBy(() -> PromptLength.parse("normal:x,3")).hasMessageContaining("not normal:x,3");
        assertThatThrownBy(() -> PromptLength.parse("0")).hasMessageContaining("prompt tokens must be between 1 and");
        assertThatThrownBy(() -> PromptLength.parse("uniform:0-5")).hasMessageContaining("between 1 and");
        assertThatThrownBy(() -> PromptLength.parse("uniform:5")).hasMessageContaining("uniform:LOW-HIGH");
        assertThatThrownBy(() -> PromptLength.parse("normal:100,-1")).hasMessageContaining("standard deviation");
        assertThatThrownBy(() -> PromptLength.parse("normal:0,5")).hasMessageContaining("mean prompt length");
        String forms = "N, uniform:LOW-HIGH or normal:MEAN,SD";
        assertThatThrownBy(() -> PromptLength.parse("gamma:3")).hasMessageContaining(forms);
        assertThatThrownBy(() -> PromptLength.parse("")).hasMessageContaining(forms);
    }

    @Test
    void drawsUniformLengthsOverTheWholeRangeAndRepeatsWithTheSeed() {
        PromptLength uniform = PromptLength.parse("uniform:3-7");
        int[] draws = IntStream.range(0, 2000).map(i -> uniform.draw(new SplittableRandom(i))).toArray();
        assertThat(Arrays.stream(draws).min().orElseThrow()).isEqualTo(3);
        assertThat(Arrays.stream(draws).max().orElseThrow()).isEqualTo(7);
        SplittableRandom one = new SplittableRandom(42);
        SplittableRandom other = new SplittableRandom(42);
        for (int i = 0; i < 100; i++) {
            assertThat(uniform.draw(one)).isEqualTo(uniform.draw(other));
        }
        assertThat(uniform.mean()).isEqualTo(5);
    }

    @Test
    void drawsNormalLengthsAboutTheirMeanClampedToOne() {
        PromptLength normal = PromptLength.parse("normal:1024,256");
        SplittableRandom random = new SplittableRandom(7);
        double[] draws = IntStream.range(0, 20_000).mapToDouble(i -> normal.draw(random)).toArray();
        double mean = Arrays.stream(draws).average().orElseThrow();
        double sd = Math.sqrt(Arrays.stream(draws).map(d -> (d - mean) * (d - mean)).average().orElseThrow());
        // The standard error of the mean is 256 / sqrt(20000) ≈ 1.8: 20 is far outside chance.
        assertThat(mean).isCloseTo(1024, within(20.0));
        assertThat(sd).isCloseTo(256, within(20.0));
        PromptLength wide = PromptLength.parse("normal:1,100");
        SplittableRandom other = new SplittableRandom(7);
        assertThat(IntStream.range(0, 1000).map(i -> wide.draw(other)).min().orElseThrow()).isEqualTo(1);
    }

    @Test
    void completionPromptsShareTheirPrefixThenHaveDistinctTokensOfExactLength() {
        PromptLength own = new PromptLength.Fixed(32);
        Prompts prompts = prompts(Endpoint.COMPLETIONS, own, 64, 1, 100, 1);
        int[] first = ids(prompts, 0);
        int[] second = ids(prompts, 1);
        assertThat(first).hasSize(96);
        assertThat(second).hasSize(96);
        assertThat(Arrays.copyOf(first, 64)).isEqualTo(Arrays.copyOf(second, 64));
        assertThat(Arrays.copyOfRange(first, 64, 96)).isNotEqualTo(Arrays.copyOfRange(second, 64, 96));
        assertThat(Arrays.stream(first).min().orElseThrow()).isGreaterThanOrEqualTo(1000);
        assertThat(Arrays.stream(first).max().orElseThrow()).isLessThan(32000);

        assertThat(ids(prompts(Endpoint.COMPLETIONS, own, 64, 1, 100, 1), 1)).as("the same options, the same prompts")
                .isEqualTo(second);
        int[] reseeded = ids(prompts(Endpoint.COMPLETIONS, own, 64, 1, 100, 2), 0);
        assertThat(Arrays.copyOf(reseeded, 64)).as("another seed, another prefix")
                .isNotEqualTo(Arrays.copyOf(first, 64));
    }

    @Test
    void drawnLengthsCountOnlyThePromptsOwnTokens() {
        Prompts prompts = prompts(Endpoint.COMPLETIONS, new PromptLength.Uniform(10, 20), 5, 1, 100, 1);
        int[] lengths = IntStream.range(0, 200).map(i -> ids(prompts, i).length).toArray();
        assertThat(Arrays.stream(lengths).min().orElseThrow()).isGreaterThanOrEqualTo(15);
        assertThat(Arrays.stream(lengths).max().orElseThrow()).isLessThanOrEqualTo(25);
        assertThat(Arrays.stream(lengths).distinct().count()).isGreaterThan(5);
        // Without a prefix the default workload's prompts are exactly as long as asked.
        assertThat(ids(new Prompts(options(Endpoint.COMPLETIONS, Workload.closed(16))), 3)).hasSize(16);
    }

    @Test
    void chatPromptsPutTheSharedPrefixInASystemMessage() {
        Prompts prompts = prompts(Endpoint.CHAT, new PromptLength.Fixed(5), 20, 1, 100, 1);
        List<Prompts.Message> first = messages(prompts.first(0));
        List<Prompts.Message> second = messages(prompts.first(1));
        assertThat(first).extracting(Prompts.Message::role).containsExactly("system", "user");
        assertThat(first.getFirst()).isEqualTo(second.getFirst());
        assertThat(first.getFirst().content().split(" ")).hasSize(20);
        assertThat(first.get(1).content().split(" ")).hasSize(5);
        assertThat(first.get(1)).isNotEqualTo(second.get(1));
        Prompts plain = new Prompts(options(Endpoint.CHAT, Workload.closed(5)));
        assertThat(messages(plain.first(0))).extracting(Prompts.Message::role).containsExactly("user");
    }

    @Test
    void aChatTurnCarriesThePreviousPromptItsAnswerAndNewWords() throws Exception {
        Prompts prompts = prompts(Endpoint.CHAT, new PromptLength.Fixed(5), 0, 3, 7, 1);
        Prompts.Turn first = prompts.first(4);
        Prompts.Turn second = prompts.next(first, "an answer");
        Prompts.Turn third = prompts.next(second, "another");
        assertThat(second.number()).isEqualTo(2);
        assertThat(third.session()).isEqualTo(4);
        List<Prompts.Message> messages = messages(third);
        assertThat(messages).extracting(Prompts.Message::role)
                .containsExactly("user", "assistant", "user", "assistant", "user");
        assertThat(messages.subList(0, 3)).isEqualTo(messages(second));
        assertThat(messages.get(1).content()).isEqualTo("an answer");
        assertThat(messages.get(3).content()).isEqualTo("another");
        assertThat(messages.get(4).content().split(" ")).hasSize(7);
        assertThat(messages.get(2)).isNotEqualTo(messages.get(4));

        JsonNode body = Json.mapper().readTree(prompts.body(third));
        assertThat(body.path("messages")).hasSize(5);
        assertThat(body.path("messages").get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(body.path("max_tokens").asInt()).isEqualTo(8);
    }

    @Test
    void completionSessionsAreTextWithTheAnswerAppended() throws Exception {
        Prompts prompts = prompts(Endpoint.COMPLETIONS, new PromptLength.Fixed(5), 3, 2, 4, 1);
        Prompts.Turn first = prompts.first(0);
        String text = ((Prompts.Prompt.Text) first.prompt()).text();
        assertThat(text.split(" ")).hasSize(3 + 5);
        String next = ((Prompts.Prompt.Text) prompts.next(first, " and then").prompt()).text();
        assertThat(next).startsWith(text + " and then ");
        assertThat(next.substring((text + " and then ").length()).split(" ")).hasSize(4);
        assertThat(Json.mapper().readTree(prompts.body(first)).path("prompt").asText()).isEqualTo(text);

        Prompts single = new Prompts(options(Endpoint.COMPLETIONS, Workload.closed(4)));
        assertThat(Json.mapper().readTree(single.body(single.first(0))).path("prompt")).hasSize(4);
        assertThatThrownBy(() -> single.next(single.first(0), "x")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void poissonArrivalsAreMonotoneWithMeanGapOneOverTheRate() {
        double[] times = Arrivals.poisson(4, 20_000, new SplittableRandom(11));
        assertThat(times[0]).isPositive();
        for (int i = 1; i < times.length; i++) {
            assertThat(times[i]).isGreaterThan(times[i - 1]);
        }
        // The mean of 20,000 exponential gaps of mean 0.25 s has a standard error of 0.25 / sqrt(20000) ≈ 0.0018.
        assertThat(times[times.length - 1] / times.length).isCloseTo(0.25, within(0.02));
        assertThat(Arrivals.poisson(4, 50, new SplittableRandom(11))).as("the seed repeats the schedule")
                .isEqualTo(Arrays.copyOf(times, 50));
        assertThatThrownBy(() -> Arrivals.poisson(0, 5, new SplittableRandom(1))).hasMessageContaining("above 0");
    }

    @Test
    void theTailIsTheNinetyNinePointNinthPercentileAndStallsAreGapsOverFiveMedians() {
        double[] oneTo1001 = IntStream.rangeClosed(1, 1001).asDoubleStream().toArray();
        assertThat(Percentiles.percentile(oneTo1001, 99.9)).isCloseTo(1000, within(1e-9)); // rank 999
        // Sorted: eight 10s, 49, 60. Median 10, so stalls are gaps over 50: only the 60. Rank of p99.9: 8.991.
        GapTail tail = GapTail.of(new double[] {10, 60, 10, 10, 49, 10, 10, 10, 10, 10});
        assertThat(tail.stallThresholdMs()).isEqualTo(50);
        assertThat(tail.stalls()).isEqualTo(1);
        assertThat(tail.gaps()).isEqualTo(10);
        assertThat(tail.stallShare()).isCloseTo(0.1, within(1e-12));
        assertThat(tail.p999Ms()).isCloseTo(49 + 0.991 * 11, within(1e-9));
        GapTail even = GapTail.of(new double[] {10, 10, 50, 10});
        assertThat(even.stalls()).as("a gap of exactly five medians is no stall").isZero();
        assertThat(GapTail.of(new double[0])).isNull();
    }

    @Test
    void aLevelSeparatesLaterTurnsTtftAndPoolsTheGapsTail() {
        RequestResult firstTurn = new RequestResult(null, 100, 500, 4, new double[] {10, 10, 10}, 1);
        RequestResult secondTurn = new RequestResult(null, 20, 400, 4, new double[] {10, 90, 10}, 2);
        RequestResult thirdTurn = new RequestResult(null, 30, 400, 4, new double[] {10, 10, 10}, 3);
        LoadGenerator.Sample sample = new LoadGenerator.Sample("2026-12-05T12:00:00.000Z", 2,
                new RequestResult[] {firstTurn, secondTurn, thirdTurn}, null, 3);
        LevelResult level = LoadGenerator.summarize(64, 2.5, List.of(sample, sample));
        assertThat(level.ttftMs()).isEqualTo(new Percentiles(100, 100, 100));
        assertThat(level.laterTurnsTtftMs().p50()).isCloseTo(25, within(1e-9));
        assertThat(level.itlTail().stalls()).isEqualTo(2);
        assertThat(level.itlTail().gaps()).isEqualTo(18);
        assertThat(level.heldArrivals()).isEqualTo(6);
        assertThat(level.label()).isEqualTo("2.5/s");
        assertThat(LoadGenerator.summarize(4, null, List.of(sample)).label()).isEqualTo("4");
        assertThat(LoadGenerator.summarize(4, 2.0, List.of(sample)).label()).isEqualTo("2/s");
    }

    @Test
    void workloadsRefuseContradictoryOptions() {
        PromptLength length = new PromptLength.Fixed(8);
        assertThatThrownBy(() -> new Workload(length, 0, 1, 100, Workload.Arrival.CLOSED, List.of(2.0), 256, 1))
                .hasMessageContaining("a rate needs Poisson arrivals (--arrival poisson)");
        assertThatThrownBy(() -> new Workload(length, 0, 1, 100, Workload.Arrival.POISSON, List.of(), 256, 1))
                .hasMessageContaining("Poisson arrivals need a rate (--rate R");
        assertThatThrownBy(() -> new Workload(length, 0, 1, 100, Workload.Arrival.POISSON, List.of(0.0), 256, 1))
                .hasMessageContaining("rates must be above 0");
        assertThatThrownBy(() -> new Workload(length, -1, 1, 100, Workload.Arrival.CLOSED, List.of(), 256, 1))
                .hasMessageContaining("shared prefix tokens must be between 0");
        assertThatThrownBy(() -> new Workload(length, 0, 0, 100, Workload.Arrival.CLOSED, List.of(), 256, 1))
                .hasMessageContaining("turns must be between 1 and 1000");
        assertThatThrownBy(() -> new Workload(length, 0, 2, 0, Workload.Arrival.CLOSED, List.of(), 256, 1))
                .hasMessageContaining("turn tokens must be between 1");
        assertThatThrownBy(() -> new Workload(length, 0, 1, 100, Workload.Arrival.POISSON, List.of(1.0), 0, 1))
                .hasMessageContaining("the most requests in flight must be between 1 and 4096");
    }

    @Test
    void aSweepCountsEveryTurnAndPoissonLevelsAreItsRates() {
        Workload poisson = new Workload(new PromptLength.Fixed(8), 0, 3, 10, Workload.Arrival.POISSON,
                List.of(0.5, 1.0), 16, 1);
        BenchOptions options = new BenchOptions(URL, null, "m", Endpoint.CHAT, poisson, 4, List.of(1, 2, 4), 5, 2, 1,
                32000, Duration.ofSeconds(1), null);
        try (LoadGenerator generator = new LoadGenerator(options, Clock.systemUTC(), () -> {})) {
            assertThat(generator.levelCount()).isEqualTo(2);
            assertThat(generator.totalRequests()).isEqualTo((1 + 5 * 2 * 2) * 3);
        }
        BenchOptions closed = options(Endpoint.CHAT, Workload.closed(8));
        BenchOptions prefixed = options(Endpoint.CHAT, workload(new PromptLength.Fixed(8), 4, 1, 100, 1));
        assertThatThrownBy(() -> new Comparison("a", closed, "b", prefixed, Clock.systemUTC(), () -> {}))
                .hasMessageContaining("same sweep");
    }

    @Test
    void tablesShowLaterTurnsRatesAndHeldArrivalsOnlyWhenMeasured() {
        Percentiles p = new Percentiles(10, 20, 30);
        LevelResult level = new LevelResult(16, "2026-12-05T12:00:00Z", 6, 0, Map.of(), 3, 2, 20, 4, p, p, p, p, 1.5,
                0.5, 2, p, new GapTail(40, 50, 3, 300));
        Workload sessions = new Workload(new PromptLength.Fixed(8), 0, 2, 10, Workload.Arrival.POISSON, List.of(0.5),
                16, 1);
        BenchReport report = new BenchReport("http://x/v1", "m", "chat", 8, 4, "2026-12-05T12:00:00Z", List.of(level),
                null, sessions);
        assertThat(BenchReports.header(report)).containsExactly("RATE", "REQS", "ERRORS", "REQ/S", "OUT TOK/S",
                "TOK/REQ", "TTFT turn 1 p50/p90/p99 ms", "TTFT turns 2+ p50/p90 ms", "TPOT p50/p90/p99 ms",
                "ITL p50/p90/p99 ms", "ITL p99.9 ms", "STALLS > 5× ITL p50", "E2E p50 ms", "HELD", "LOAD");
        assertThat(BenchReports.rows(report).getFirst()).containsExactly("0.5/s", "6", "0", "2.00", "20.0", "4.0",
                "10.0 / 20.0 / 30.0", "10.0 / 20.0", "10.0 / 20.0 / 30.0", "10.0 / 20.0 / 30.0", "40.0", "3 (1.0%)",
                "10.0", "2", "1.50");
        assertThat(report.describe()).isEqualTo("8 prompt tokens + 4 output tokens per request, sessions of 2 turns "
                + "adding 10 tokens each, Poisson arrivals, at most 16 in flight");
        BenchReport plain = new BenchReport("http://x/v1", "m", "chat", 8, 4, "2026-12-05T12:00:00Z", List.of(level),
                null, Workload.closed(8));
        assertThat(BenchReports.header(plain)).doesNotContain("TTFT turns 2+ p50/p90 ms", "HELD").contains("CONC");
        ComparisonReport comparison = new ComparisonReport("a", "b", report, report);
        assertThat(BenchReports.comparisonHeader(comparison)).contains("RATE", "TTFT turns 2+ p50 ms a", "ITL p99 ms b",
                "STALLS a / b");
        assertThat(comparison.rows().getFirst().laterTurnsTtftRatio()).isEqualTo(1.0);
        assertThat(comparison.rows().getFirst().itlP99Ratio()).isEqualTo(1.0);
    }

    @Test
    void theCommandRefusesBadWorkloadOptionsWithClearMessages() {
        assertThat(cli("--prompt-tokens", "uniform:9-3"))
                .contains("--prompt-tokens: uniform:LOW-HIGH needs LOW ≤ HIGH: 9-3");
        assertThat(cli("--prompt-tokens", "normal:x")).contains("--prompt-tokens: normal prompt lengths are written");
        assertThat(cli("--prompt-tokens", "0")).contains("--prompt-tokens: prompt tokens must be between 1 and");
        assertThat(cli("--arrival", "bursty")).contains("--arrival takes closed or poisson, not bursty");
        assertThat(cli("--arrival", "poisson")).contains("Poisson arrivals need a rate (--rate R");
        assertThat(cli("--rate", "2")).contains("a rate needs Poisson arrivals (--arrival poisson)");
        assertThat(cli("--turns", "0")).contains("turns must be between 1 and 1000");
        assertThat(cli("--shared-prefix-tokens", "-4")).contains("shared prefix tokens must be between 0");
    }

    /** What {@code factory bench} with {@code args} printed to stderr, having exited 2. */
    private static String cli(String... args) {
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 5];
        System.arraycopy(new String[] {"bench", "--model", "m", "--url", URL.toString()}, 0, all, 0, 5);
        System.arraycopy(args, 0, all, 5, args.length);
        int exit = FactoryCli.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), all);
        assertThat(exit).as(err.toString()).isEqualTo(2);
        return err.toString();
    }
}
