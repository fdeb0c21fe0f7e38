package ai.factory.security.audit;

import ai.factory.config.AuditConfig;
import ai.factory.storage.Database;
import ai.factory.storage.ScratchDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The audit writer's throughput and the verifier's speed on a real database. {@code record}: one operation is a batch
 * of {@code records} events recorded by {@code threads} virtual threads at once (as request threads do) and committed
 * by the one writer with group commit; its secondary result {@code record:records} is records committed per second.
 * {@code verify}: one operation verifies the whole chain (one batch, signed); {@code verify:records} is records
 * verified per second. Runs on embedded H2 and on PostgreSQL, a fresh schema in the server the tests use
 * ({@code FACTORY_TEST_PG_URL}, default {@code jdbc:postgresql://127.0.0.1:5432/test}; see {@link ScratchDatabase});
 * without one, the PostgreSQL case fails to start and the others run ({@code -p database=H2} leaves it out).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
public class AuditWriterBenchmark {
    @Param({"H2", "POSTGRESQL"})
    ScratchDatabase.Kind database;

    @Param("20000")
    int records;

    @Param("32")
    int threads;

    private Database db;
    private AuditKey key;
    private AuditLog log;
    private int next;

    /** Records committed, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Committed {
        public long records;

        @Setup(Level.Iteration)
        public void reset() {
            records = 0;
        }
    }

    /** Records verified, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Verified {
        public long records;

        @Setup(Level.Iteration)
        public void reset() {
            records = 0;
        }
    }

    @Setup(Level.Trial)
    public void open() throws IOException, InterruptedException {
        db = ScratchDatabase.open(database);
        key = AuditKey.generate();
        log = new AuditLog(new AuditStore(db.jdbi()), key, AuditConfig.defaults(), Clock.systemUTC(), new SimpleMeterRegistry());
        // The chain that verify reads, signed to its end; for record, the writer's first batch.
        writeBatch();
        log.digestNow();
    }

    @TearDown(Level.Trial)
    public void close() {
        log.close();
        db.close();
    }

    @Benchmark
    public void record(Committed committed) throws InterruptedException {
        committed.records += writeBatch();
    }

    @Benchmark
    public AuditVerification verify(Verified verified) {
        AuditVerification verification = new AuditVerifier(new AuditStore(db.jdbi()), key.publicKey(), AuditConfig.defaults())
                .verify(Optional.empty(), Optional.empty());
        if (!verification.ok()) {
            throw new IllegalStateException("the chain does not verify: " + verification);
        }
        verified.records += verification.records();
        return verification;
    }

    /** {@code records} events from {@code threads} threads, waited for until all are committed; returns how many. */
    private int writeBatch() throws InterruptedException {
        int each = records / threads;
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = next + t * each;
            writers.add(Thread.ofVirtual().start(() -> {
                for (int i = first; i < first + each; i++) {
                    log.record(event(i));
                }
            }));
        }
        for (Thread writer : writers) {
            writer.join();
        }
        next += threads * each;
        if (!log.awaitWritten(Duration.ofMinutes(5))) {
            throw new IllegalStateException("the writer did not commit a batch within 5 minutes");
        }
        if (log.droppedCount() > 0) {
            throw new IllegalStateException("the writer dropped " + log.droppedCount() + " records; the measurement is void");
        }
        return threads * each;
    }

    /** A typical allowed inference call, different for every {@code i}. */
    private static AuditEvent event(int i) {
        return new AuditEvent(Instant.now(), "key-" + (i % 3), "app-" + (i % 3), "default", "POST /v1/chat/completions",
                "model=acme/tiny", AuditEvent.ALLOW, AuditEvent.SUCCESS, 200, "127.0.0.1", "req-" + i, 100 + i, 2000 + i,
                10, 20, "");
    }
}
