package ai.factory.security.audit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.ServerTest;
import ai.factory.config.AuditConfig;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A process killed with SIGKILL while it appends to the audit chain, on real H2 and PostgreSQL: what survives
 * verifies, what was lost is a tail of the chain, and the next writer continues from what survived.
 *
 * <p>PostgreSQL keeps every record whose commit returned. Embedded H2 may lose the last commits before the kill:
 * even with {@code WRITE_DELAY=0}, the last batch or two committed within about a second of the kill were missing
 * on reopening in runs of this test (docs/audit.md says so, and points production sites to PostgreSQL).
 */
@ServerTest
class AuditCrashTest {
    private static final long KILL_AFTER = 300;

    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aProcessKilledMidAppendLeavesAChainThatVerifiesAndContinues(TestDatabases.Kind kind) throws Exception {
        Path privateKey = tempDir.resolve("audit.key");
        Path publicKey = tempDir.resolve("audit.pub");
        AuditKey key = AuditKey.loadOrCreate(privateKey, publicKey);
        try (TestDatabases.Scratch scratch = TestDatabases.scratch(kind, tempDir)) {
            long reached = appendInAnotherProcessAndKillIt(scratch, privateKey, publicKey);

            AuditConfig everyFive = new AuditConfig(5, Duration.ofHours(1));
            try (Database db = Database.open(scratch.config())) {
                AuditStore store = new AuditStore(db.jdbi());
                long head = store.head().map(AuditRecord::seq).orElse(0L);
                if (kind == TestDatabases.Kind.POSTGRESQL) {
                    assertThat(head).as("records committed before the kill survive it").isGreaterThanOrEqualTo(reached);
                }
                AuditVerification afterKill = new AuditVerifier(store, key.publicKey(), everyFive)
                        .verify(Optional.empty(), Optional.empty());
                assertThat(afterKill.ok()).as("%s", afterKill).isTrue();
                assertThat(afterKill.records()).isEqualTo(head);
                // Records and the digests they make due commit together: fewer than five are ever unsigned.
                long signed = store.lastDigest().orElseThrow().lastSeq();
                assertThat(head - signed).isBetween(0L, 4L);
                assertThat(afterKill.undigested()).isEqualTo(head - signed);

                // The next start signs what the kill left unsigned, continues the chain, and closing signs the rest.
                try (AuditLog next = new AuditLog(store, key, everyFive, Clock.systemUTC(), new SimpleMeterRegistry())) {
                    for (int i = 0; i < 12; i++) {
                        next.record(AuditChainTest.event(10_000 + i, Instant.now()));
                    }
                    assertThat(next.awaitWritten(Duration.ofMinutes(1))).isTrue();
                }
                AuditRecord start = store.record(head + 1).orElseThrow();
                assertThat(start.event().action()).isEqualTo(AuditLog.START);
                if (head > signed) {
                    assertThat(start.event().detail()).contains("records " + (signed + 1) + " to " + head
                            + " had no digest");
                }
                AuditVerification continued = new AuditVerifier(store, key.publicKey(), everyFive)
                        .verify(Optional.empty(), Optional.empty());
                assertThat(continued.ok()).as("%s", continued).isTrue();
                assertThat(continued.records()).as("start, 12 events, stop").isEqualTo(head + 14);
                assertThat(store.record(head + 2).orElseThrow().event().requestId()).isEqualTo("req-10000");
            }
        }
    }

    /** Starts {@link AuditAppenderProcess}, waits until it reports {@link #KILL_AFTER} committed records, kills it. */
    private static long appendInAnotherProcessAndKillIt(TestDatabases.Scratch scratch, Path privateKey, Path publicKey)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                AuditAppenderProcess.class.getName(), scratch.config().url(), orDash(scratch.config().user()),
                orDash(scratch.config().password()), privateKey.toString(), publicKey.toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> output = new ArrayList<>();
        long reached = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                output.add(line);
                if (line.startsWith("head ") && (reached = Long.parseLong(line.substring(5))) >= KILL_AFTER) {
                    break;
                }
            }
            child.destroyForcibly();
            assertThat(child.waitFor(1, TimeUnit.MINUTES)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(reached).as("the appender's output: %s", tail(output)).isGreaterThanOrEqualTo(KILL_AFTER);
        assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
        return reached;
    }

    private static String orDash(String value) {
        return value == null ? "-" : value;
    }

    private static List<String> tail(List<String> lines) {
        return lines.subList(Math.max(0, lines.size() - 20), lines.size());
    }
}
