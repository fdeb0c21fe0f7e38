package ai.factory.bench;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

/**
 * How a sweep's single-stream decoding compares with the memory-bandwidth roofline ({@link Roofline}) of its
 * model on the machine the benchmark ran on, with the bandwidth {@link MemoryBandwidth} measured.
 *
 * @param threads threads the bandwidth probe ran
 * @param arrayBytes the size of each of the probe's three arrays
 * @param readGBps the probe's read rate, in 10^9 bytes per second
 * @param copyGBps its copy rate
 * @param triadGBps its triad rate
 * @param bandwidthGBps the best of the three, the bandwidth of the limit
 * @param weightBytesPerToken weight bytes one token reads
 * @param kvBytesPerPosition KV bytes one token reads per cached position
 * @param position the context position of the limit: the prompt plus half the output, a generated token's mean position
 * @param limitTokensPerSecond the most one sequence can decode at that position
 * @param decodeTokensPerSecond what one sequence decoded: 1000 ÷ the TPOT p50 (ms) of the concurrency-1 level; null
 *     when the sweep has no such level or it measured no TPOT
 * @param fraction {@code decodeTokensPerSecond ÷ limitTokensPerSecond}, or null with it
 */
public record RooflineReport(int threads, long arrayBytes, double readGBps, double copyGBps, double triadGBps, double bandwidthGBps,
                             long weightBytesPerToken, long kvBytesPerPosition, long position, double limitTokensPerSecond,
                             @Nullable Double decodeTokensPerSecond, @Nullable Double fraction) {

    /** The roofline of {@code report}'s model and lengths, with {@code bandwidth}, against its concurrency-1 level. */
    public static RooflineReport of(MemoryBandwidth.Result bandwidth, Roofline roofline, BenchReport report) {
        requireNonNull(bandwidth, "bandwidth is null");
        requireNonNull(roofline, "roofline is null");
        requireNonNull(report, "report is null");
        long position = report.promptTokens() + report.outputTokens() / 2;
        double limit = roofline.limitTokensPerSecond(bandwidth.bestBytesPerSecond(), position);
        Double decode = null;
        for (LevelResult level : report.levels()) {
            Percentiles tpot = level.tpotMs();
            if (level.concurrency() == 1 && level.rate() == null && tpot != null && tpot.p50() > 0) {
                decode = 1000 / tpot.p50();
                break;
            }
        }
        return new RooflineReport(bandwidth.threads(), bandwidth.arrayBytes(), bandwidth.readBytesPerSecond() / 1e9,
                bandwidth.copyBytesPerSecond() / 1e9, bandwidth.triadBytesPerSecond() / 1e9, bandwidth.bestBytesPerSecond() / 1e9,
                roofline.weightBytesPerToken(), roofline.kvBytesPerPosition(), position, limit, decode,
                decode == null ? null : decode / limit);
    }

    /** One line for a terminal or a Markdown paragraph. */
    public String describe() {
        String bandwidth = "memory bandwidth %.1f GB/s (read %.1f, copy %.1f, triad %.1f; %d threads, 3 × %d MiB)".formatted(
                bandwidthGBps, readGBps, copyGBps, triadGBps, threads, arrayBytes >> 20);
        String limit = "roofline at position %d: %.1f MB per token (weights %.1f MB + KV %.1f MB) → at most %.1f tokens/s per sequence"
                .formatted(position, (weightBytesPerToken + kvBytesPerPosition * position) / 1e6, weightBytesPerToken / 1e6,
                        kvBytesPerPosition * position / 1e6, limitTokensPerSecond);
        String achieved = decodeTokensPerSecond == null || fraction == null
                ? "no concurrency-1 level to compare with"
                : "single-stream decode %.1f tokens/s = %.0f%% of the roofline".formatted(decodeTokensPerSecond, fraction * 100);
        return bandwidth + "; " + limit + "; " + achieved;
    }
}
