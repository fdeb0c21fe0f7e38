package ai.factory.security.audit;

import ai.factory.config.AuditConfig;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rough audit writer throughput (records committed per second with group commit, from many request threads) and
 * verification speed, on H2 and PostgreSQL; not a test, so off unless asked for:
 * {@code ./factory test -Dtest=AuditWriterBenchmark -Dfactory.audit.bench=true}.
 */
@EnabledIfSystemProperty(named = "factory.audit.bench", matches = "true")
class AuditWriterBenchmark {
    private static final int RECORDS = 20_000;
    private static final int THREADS = 32;

    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void measuresRecordsPerSecondAndVerification(TestDatabases.Kind kind) throws Exception {
        AuditKey key = AuditKey.generate();
        try (Database db = TestDatabases.open(kind, tempDir);
                AuditLog log = new AuditLog(new AuditStore(db.jdbi()), key, AuditConfig.defaults(), Clock.systemUTC(),
                        new SimpleMeterRegistry())) {
            long start = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int offset = t * (RECORDS / THREADS);
                threads.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < RECORDS / THREADS; i++) {
                        log.record(AuditChainTest.event(offset + i, java.time.Instant.now()));
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            if (!log.awaitWritten(Duration.ofMinutes(5))) {
                throw new AssertionError("the writer did not keep up within 5 minutes");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            log.digestNow();
            long verifyStart = System.nanoTime();
            AuditVerification v = new AuditVerifier(new AuditStore(db.jdbi()), key.publicKey(), AuditConfig.defaults())
                    .verify(Optional.empty(), Optional.empty());
            double verifySeconds = (System.nanoTime() - verifyStart) / 1e9;
            System.out.printf("audit %s: %d records from %d threads committed in %.2f s = %.0f records/s; "
                            + "verify %s in %.2f s = %.0f records/s; dropped %d%n", kind, RECORDS, THREADS, seconds,
                    RECORDS / seconds, v.ok() ? "OK" : "BROKEN", verifySeconds, v.records() / verifySeconds,
                    log.droppedCount());
        }
    }
}
