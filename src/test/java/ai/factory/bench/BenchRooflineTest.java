package ai.factory.bench;

import ai.factory.fleet.LoadAverage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.factory.TestModels;
import ai.factory.fleet.capacity.CacheType;
import ai.factory.models.gguf.GgmlType;
import ai.factory.models.gguf.GgufMetadata;
import ai.factory.models.gguf.GgufReader;
import ai.factory.models.gguf.TensorInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bandwidth probe and the roofline arithmetic; no timings are asserted, only that the probe measures something. */
class BenchRooflineTest {

    @Test
    void probeReturnsPositiveRatesForEveryKernel() throws InterruptedException {
        MemoryBandwidth.Result result = MemoryBandwidth.measure(2, (4 << 20) + 3, 2);
        assertThat(result.threads()).isEqualTo(2);
        assertThat(result.arrayBytes()).isEqualTo(4 << 20); // whole doubles only
        for (double rate : new double[] {result.readBytesPerSecond(), result.copyBytesPerSecond(), result.triadBytesPerSecond()}) {
            assertThat(rate).isPositive().isFinite();
        }
        assertThat(result.bestBytesPerSecond()).isEqualTo(Math.max(result.readBytesPerSecond(),
                Math.max(result.copyBytesPerSecond(), result.triadBytesPerSecond())));
    }

    @Test
    void probeRejectsNoThreadsAndArraysSmallerThanOneElementPerThread() {
        assertThatThrownBy(() -> MemoryBandwidth.measure(0, 1 << 20, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemoryBandwidth.measure(1, 1 << 20, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemoryBandwidth.measure(4, 24, 1)).hasMessageContaining("too small for 4 threads");
    }

    /** A two-layer llama: embedding 64 × 1000 in Q8_0, per layer attention and FFN weights, optionally its own output. */
    private static GgufMetadata model(boolean ownOutput, Map<String, Object> extra) {
        List<TensorInfo> tensors = new ArrayList<>();
        tensors.add(tensor("token_embd.weight", GgmlType.Q8_0, 64, 1000));
        for (int layer = 0; layer < 2; layer++) {
            tensors.add(tensor("blk." + layer + ".attn_norm.weight", GgmlType.F32, 64));
            tensors.add(tensor("blk." + layer + ".attn_q.weight", GgmlType.Q8_0, 64, 64));
            tensors.add(tensor("blk." + layer + ".attn_k.weight", GgmlType.Q8_0, 64, 32));
            tensors.add(tensor("blk." + layer + ".ffn_up.weight", GgmlType.Q8_0, 64, 256));
        }
        tensors.add(tensor("output_norm.weight", GgmlType.F32, 64));
        if (ownOutput) {
            tensors.add(tensor("output.weight", GgmlType.Q8_0, 64, 1000));
        }
        long offset = 0;
        List<TensorInfo> placed = new ArrayList<>();
        for (TensorInfo t : tensors) {
            placed.add(new TensorInfo(t.name(), t.dimensions(), t.type(), offset, t.sizeBytes()));
            offset += t.sizeBytes();
        }
        return new GgufMetadata(3, "llama", "test", 0, "Q8_0", 2048, 2, 64, 4, 2, "llama", 1000, null, 1, 2, placed.size(), 32,
                0, offset, placed, extra, Map.of());
    }

    private static TensorInfo tensor(String name, GgmlType type, long... dimensions) {
        long elements = 1;
        List<Long> dims = new ArrayList<>();
        for (long d : dimensions) {
            elements *= d;
            dims.add(d);
        }
        // Q8_0: 34 bytes a block of 32; F32: 4 bytes an element.
        long bytes = type == GgmlType.Q8_0 ? elements / 32 * 34 : elements * 4;
        return new TensorInfo(name, dims, type, 0, bytes);
    }

    @Test
    void tiedEmbeddingsAreReadWholeAsTheOutputProjection() {
        Roofline roofline = Roofline.of(model(false, Map.of()), CacheType.F16);
        long layers = 2 * (64 * 4 + (64 * 64 + 64 * 32 + 64 * 256) / 32 * 34);
        long embedding = 64 * 1000 / 32 * 34;
        assertThat(roofline.weightBytesPerToken()).isEqualTo(layers + 64 * 4 + embedding);
        // 2 layers × 2 KV heads × (16 + 16) head dims × 2 bytes (f16)
        assertThat(roofline.kvBytesPerPosition()).isEqualTo(2 * 2 * 32 * 2);
    }

    @Test
    void withItsOwnOutputTheEmbeddingCostsOneRow() {
        Roofline roofline = Roofline.of(model(true, Map.of()), CacheType.F16);
        long layers = 2 * (64 * 4 + (64 * 64 + 64 * 32 + 64 * 256) / 32 * 34);
        long output = 64 * 1000 / 32 * 34;
        long row = 64 / 32 * 34;
        assertThat(roofline.weightBytesPerToken()).isEqualTo(layers + 64 * 4 + output + row);
    }

    @Test
    void keyAndValueLengthsFromTheFileWinAndTheCacheTypeSetsTheBytes() {
        Roofline roofline = Roofline.of(model(false, Map.of("llama.attention.key_length", 32, "llama.attention.value_length", 16)),
                CacheType.Q8_0);
        // 2 layers × q8_0 bytes of 2 heads × (32 + 16) = 96 elements = 3 blocks of 34 bytes
        assertThat(roofline.kvBytesPerPosition()).isEqualTo(2 * 3 * 34);
    }

    @Test
    void limitIsBandwidthOverWeightsPlusTheKvUpToThePosition() {
        Roofline roofline = new Roofline(1_000_000_000L, 30_720);
        assertThat(roofline.bytesPerToken(0)).isEqualTo(1_000_000_000L);
        assertThat(roofline.bytesPerToken(100)).isEqualTo(1_003_072_000L);
        assertThat(roofline.limitTokensPerSecond(50e9, 100)).isCloseTo(50e9 / 1_003_072_000.0, within(1e-9));
        assertThatThrownBy(() -> roofline.bytesPerToken(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> roofline.limitTokensPerSecond(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Roofline(0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theTinyModelsRooflineCountsEveryTensorOnce() throws IOException {
        GgufMetadata tiny = GgufReader.read(TestModels.tinyLlama());
        Roofline roofline = Roofline.of(tiny, CacheType.F16);
        long all = tiny.tensors().stream().mapToLong(TensorInfo::sizeBytes).sum();
        boolean ownOutput = tiny.tensors().stream().anyMatch(t -> t.name().equals("output.weight"));
        long embedding = tiny.tensors().stream().filter(t -> t.name().equals("token_embd.weight")).mapToLong(TensorInfo::sizeBytes).sum();
        long expected = ownOutput ? all - embedding + Math.ceilDiv(embedding, tiny.vocabularySize()) : all;
        assertThat(roofline.weightBytesPerToken()).isEqualTo(expected);
        long headDim = tiny.embeddingLength() / tiny.headCount();
        assertThat(roofline.kvBytesPerPosition()).isEqualTo((long) tiny.blockCount() * tiny.headCountKv() * headDim * 2 * 2);
    }

    private static LevelResult level(int concurrency, double tpotP50) {
        Percentiles p = new Percentiles(tpotP50, tpotP50, tpotP50);
        return new LevelResult(concurrency, "2026-11-25T12:00:00Z", 4, 0, Map.of(), 1, 1, 10, 16, p, p, p, p, 0.5, null,
                0, null, null);
    }

    @Test
    void reportComparesTheConcurrencyOneDecodeRateWithTheLimit() {
        MemoryBandwidth.Result bandwidth = new MemoryBandwidth.Result(2, 256 << 20, 40e9, 50e9, 45e9);
        Roofline roofline = new Roofline(1_000_000_000L, 0);
        BenchReport sweep = new BenchReport("http://x/v1", "m", "completions", 128, 32, "2026-11-25T12:00:00Z",
                List.of(level(4, 100), level(1, 50)), null, Workload.closed(128));
        RooflineReport report = RooflineReport.of(bandwidth, roofline, sweep);
        assertThat(report.position()).isEqualTo(128 + 16);
        assertThat(report.bandwidthGBps()).isEqualTo(50);
        assertThat(report.limitTokensPerSecond()).isCloseTo(50, within(1e-9));
        assertThat(report.decodeTokensPerSecond()).isCloseTo(20, within(1e-9)); // 1000 / 50 ms
        assertThat(report.fraction()).isCloseTo(0.4, within(1e-9));
        assertThat(report.describe()).contains("50.0 GB/s").contains("20.0 tokens/s = 40% of the roofline");

        RooflineReport without = RooflineReport.of(bandwidth, roofline, new BenchReport("http://x/v1", "m", "completions", 128, 32,
                "2026-11-25T12:00:00Z", List.of(level(4, 100)), null, Workload.closed(128)));
        assertThat(without.decodeTokensPerSecond()).isNull();
        assertThat(without.fraction()).isNull();
        assertThat(without.describe()).contains("no concurrency-1 level");
    }

    @Test
    void loadAverageIsTheFirstFieldOfProcLoadavg() {
        assertThat(LoadAverage.parse("0.52 0.58 0.59 1/467 12345\n")).isEqualTo(0.52);
        assertThat(LoadAverage.parse("12.25 3 1 2/3 4")).isEqualTo(12.25);
        assertThat(LoadAverage.parse("")).isNull();
        assertThat(LoadAverage.parse("busy 1 2")).isNull();
        assertThat(LoadAverage.parse("-1 0 0")).isNull();
        assertThat(LoadAverage.parse("NaN 0 0")).isNull();
    }
}
