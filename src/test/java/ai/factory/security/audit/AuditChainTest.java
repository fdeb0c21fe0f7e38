package ai.factory.security.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import ai.factory.config.AuditConfig;
import ai.factory.security.audit.AuditVerification.Kind;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The audit chain on real H2 and PostgreSQL: appending through the writer, digests, verification, kinds of tampering
 * with the rows, and a writer stopped between writing and committing a batch. (AuditTamperTest holds an attacker's
 * whole matrix against a stopped store.)
 *
 * <p>Each writer opens with an {@code audit.start} record, signed at once, and closes with {@code audit.stop} and a
 * final digest. With a digest every five records and a clock that stands a second after the events' times, twelve
 * events make records 1 (start), 2 to 13, 14 (stop) and digests over 1, 2-6, 7-11 and 12-14.
 */
class AuditChainTest {
    private static final AuditConfig EVERY_FIVE = new AuditConfig(5, Duration.ofHours(1));
    static final Instant EVENTS = Instant.parse("2026-11-25T10:00:00Z");
    /** A second after the events: none is old enough for the interval to sign it early. */
    static final Clock CLOCK = Clock.fixed(EVENTS.plusSeconds(1), ZoneOffset.UTC);

    @TempDir
    Path tempDir;

    private final AuditKey key = AuditKey.generate();

    static AuditEvent event(int i) {
        return event(i, EVENTS.plusMillis(i));
    }

    static AuditEvent event(int i, Instant at) {
        return new AuditEvent(at, "key-" + (i % 3), "app-" + (i % 3),
                "default", "POST /v1/chat/completions", "model=acme/tiny", AuditEvent.ALLOW, AuditEvent.SUCCESS, 200,
                "127.0.0.1", "req-" + i, 100 + i, 2000 + i, 10, 20, "");
    }

    private AuditLog log(Database db, AuditConfig config) {
        return new AuditLog(new AuditStore(db.jdbi()), key, config, CLOCK, new SimpleMeterRegistry());
    }

    /** Appends {@code n} events and closes the writer (which commits them and writes the last digest). */
    private void append(Database db, int from, int n) throws InterruptedException {
        try (AuditLog log = log(db, EVERY_FIVE)) {
            for (int i = from; i < from + n; i++) {
                log.record(event(i));
            }
            assertThat(log.awaitWritten(Duration.ofMinutes(1))).isTrue();
        }
    }

    private AuditVerification verify(Database db) {
        return new AuditVerifier(new AuditStore(db.jdbi()), key.publicKey(), EVERY_FIVE)
                .verify(Optional.empty(), Optional.empty());
    }

    private static void sql(Database db, String statement) {
        db.jdbi().useHandle(h -> h.execute(statement));
    }

    private static AuditVerification.Problem problem(AuditVerification v) {
        assertThat(v.ok()).as("verification should fail").isFalse();
        return v.problem().orElseThrow();
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void appendsAGapFreeChainWithADigestEveryNRecords(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            AuditStore store = new AuditStore(db.jdbi());
            List<AuditRecord> records = store.records(1, 100, 100);
            assertThat(records).extracting(AuditRecord::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L,
                    11L, 12L, 13L, 14L);
            assertThat(records.getFirst().event().action()).isEqualTo(AuditLog.START);
            assertThat(records.getFirst().event().detail()).contains("every 5 records or 1h");
            assertThat(records.getLast().event().action()).isEqualTo(AuditLog.STOP_ACTION);
            assertThat(records.getFirst().prevHash()).isEqualTo(AuditHashing.GENESIS);
            for (int i = 1; i < records.size(); i++) {
                assertThat(records.get(i).prevHash()).isEqualTo(records.get(i - 1).hash());
            }
            assertThat(records.get(4).event()).isEqualTo(event(3));
            List<AuditDigest> digests = store.digests(1, 100, 100, true);
            assertThat(digests).extracting(AuditDigest::firstSeq, AuditDigest::lastSeq).containsExactly(
                    tuple(1L, 1L), tuple(2L, 6L), tuple(7L, 11L), tuple(12L, 14L));
            assertThat(digests).allSatisfy(d -> {
                assertThat(AuditKey.verify(key.publicKey(), d)).isTrue();
                assertThat(d.version()).isEqualTo(2);
                assertThat(d.cadence()).contains(new AuditDigest.Cadence(5, Duration.ofHours(1)));
                assertThat(d.closing()).as("no writer is told it is alone").isFalse();
                for (long seq = d.firstSeq(); seq <= d.lastSeq(); seq++) {
                    assertThat(d.signedPrefix(seq)).contains(records.get((int) seq - 1).hash().substring(0, 16));
                }
            });
            assertThat(digests.getFirst().prevDigest()).isEmpty();
            for (int i = 1; i < digests.size(); i++) {
                assertThat(digests.get(i).prevDigest()).isEqualTo(digests.get(i - 1).hash());
            }

            AuditVerification v = verify(db);
            assertThat(v.ok()).as("%s", v).isTrue();
            assertThat(v.records()).isEqualTo(14);
            assertThat(v.digests()).isEqualTo(4);
            assertThat(v.undigested()).isZero();
            assertThat(v.latest()).contains(AuditAnchor.of(digests.getLast()));

            append(db, 12, 3);
            AuditVerification more = verify(db);
            assertThat(more.ok()).as("%s", more).isTrue();
            assertThat(more.records()).isEqualTo(19);
            assertThat(store.digests(15, 100, 100, false)).extracting(AuditDigest::firstSeq, AuditDigest::lastSeq)
                    .containsExactly(tuple(15L, 15L), tuple(16L, 19L));
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsADeletedRecord(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            sql(db, "DELETE FROM audit_records WHERE seq = 7");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.DELETED);
            assertThat(p.seq()).isEqualTo(7);
            assertThat(p.message()).contains("record 7 is missing");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsADeletedTailThatADigestCovers(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            sql(db, "DELETE FROM audit_records WHERE seq >= 9");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.DELETED);
            assertThat(p.seq()).isEqualTo(9);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsReorderedRecords(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            sql(db, "UPDATE audit_records SET seq = -1 WHERE seq = 4");
            sql(db, "UPDATE audit_records SET seq = 4 WHERE seq = 5");
            sql(db, "UPDATE audit_records SET seq = 5 WHERE seq = -1");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.REORDERED);
            assertThat(p.seq()).isEqualTo(4);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsAnEditedField(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            sql(db, "UPDATE audit_records SET bytes_out = 1 WHERE seq = 8");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.EDITED);
            assertThat(p.seq()).isEqualTo(8);
            assertThat(p.message()).contains("record 8 was edited");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsAnEditWhoseHashWasRecomputed(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            AuditStore store = new AuditStore(db.jdbi());
            AuditRecord r = store.record(3).orElseThrow();
            AuditEvent e = r.event();
            AuditEvent forged = new AuditEvent(e.at(), e.principalId(), "someone-else", e.project(), e.action(),
                    e.resource(), e.decision(), e.outcome(), e.status(), e.client(), e.requestId(), e.bytesIn(),
                    e.bytesOut(), e.promptTokens(), e.completionTokens(), e.detail());
            String hash = AuditHashing.hash(3, forged, r.prevHash());
            sql(db, "UPDATE audit_records SET principal_name = 'someone-else', hash = '" + hash + "' WHERE seq = 3");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.EDITED);
            assertThat(p.seq()).isEqualTo(3);
            assertThat(p.message()).contains("record 3 was changed and the hashes recomputed")
                    .contains("signed " + r.hash().substring(0, 16));
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsADigestForgedWithAnotherKey(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            AuditStore store = new AuditStore(db.jdbi());
            AuditDigest genuine = store.digests(11, 11, 1, false).getFirst();
            AuditDigest forged = AuditKey.generate().sign(genuine);
            sql(db, "UPDATE audit_digests SET signature = '" + forged.signature() + "' WHERE first_seq = 7");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.FORGED_DIGEST);
            assertThat(p.seq()).as("the first record the digest covers").isEqualTo(7);
            assertThat(p.message()).contains("records 7 to 11").contains("does not verify");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void detectsADeletedDigest(TestDatabases.Kind kind) throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 12);
            sql(db, "DELETE FROM audit_digests WHERE first_seq = 7");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.DIGEST_MISSING);
            assertThat(p.seq()).isEqualTo(7);
            assertThat(p.message()).contains("records 7 to 11");
        }
    }

    @Test
    void anUnsignedTailLongerThanTheCadenceFailsStrictlyAndIsAWarningOtherwise() throws InterruptedException {
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, tempDir)) {
            append(db, 0, 12);
            // Without the digests over 7-11 and 12-14, eight records follow the last digest: more than five.
            sql(db, "DELETE FROM audit_digests WHERE first_seq >= 7");
            var p = problem(verify(db));
            assertThat(p.kind()).isEqualTo(Kind.UNSIGNED);
            assertThat(p.seq()).isEqualTo(7);
            assertThat(p.message()).contains("8 records (7 to 14)").contains("every 5 records");

            AuditVerification lenient = new AuditVerifier(new AuditStore(db.jdbi()), key.publicKey(), EVERY_FIVE)
                    .verify(new AuditVerifier.Options(Optional.empty(), Optional.empty(), List.of(), false));
            assertThat(lenient.ok()).as("%s", lenient).isTrue();
            assertThat(lenient.undigested()).isEqualTo(8);
            assertThat(lenient.warning()).hasValueSatisfying(w -> assertThat(w.seq()).isEqualTo(7));
        }
    }

    @Test
    void anUnsignedRecordOlderThanTheIntervalAllowsFails() throws InterruptedException {
        AuditConfig hourly = new AuditConfig(1000, Duration.ofHours(1));
        Clock noon = Clock.fixed(EVENTS.plus(Duration.ofHours(2)), ZoneOffset.UTC);
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, tempDir)) {
            try (AuditLog log = new AuditLog(new AuditStore(db.jdbi()), key, hourly, noon, new SimpleMeterRegistry())) {
                // Two hours old when written: the batch that writes them signs them too.
                for (int i = 0; i < 3; i++) {
                    log.record(event(i));
                }
                assertThat(log.awaitWritten(Duration.ofMinutes(1))).isTrue();
            }
            AuditStore store = new AuditStore(db.jdbi());
            // Records 2 to 4 are signed by the batches that wrote them: one digest, or more when the writer took
            // the first before the others arrived.
            List<AuditDigest> digests = store.digests(1, 100, 100, false);
            assertThat(List.of(digests.getFirst().firstSeq(), digests.getFirst().lastSeq())).containsExactly(1L, 1L);
            assertThat(List.of(digests.getLast().firstSeq(), digests.getLast().lastSeq())).containsExactly(5L, 5L);
            for (int i = 1; i < digests.size(); i++) {
                assertThat(digests.get(i).firstSeq()).isEqualTo(digests.get(i - 1).lastSeq() + 1);
            }
            sql(db, "DELETE FROM audit_digests WHERE first_seq > 1");
            var p = problem(new AuditVerifier(store, key.publicKey(), hourly).verify(Optional.empty(), Optional.empty()));
            assertThat(p.kind()).isEqualTo(Kind.UNSIGNED);
            assertThat(p.seq()).isEqualTo(2);
            assertThat(p.message()).contains("record 2 was made at 2026-11-25T10:00:00Z").contains("1h");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void aWriterStoppedBeforeCommitLosesOnlyItsBatchAndTheChainContinues(TestDatabases.Kind kind)
            throws InterruptedException {
        try (Database db = TestDatabases.open(kind, tempDir)) {
            append(db, 0, 7);
            AtomicInteger batches = new AtomicInteger();
            List<Long> lost = new ArrayList<>();
            AuditLog crashing = new AuditLog(new AuditStore(db.jdbi()), key, EVERY_FIVE, CLOCK,
                    new SimpleMeterRegistry(), written -> {
                        if (batches.incrementAndGet() == 1) {
                            written.forEach(r -> lost.add(r.seq()));
                            throw new SimulatedCrash();
                        }
                    });
            crashing.record(event(100));
            crashing.record(event(101));
            // The writer thread dies in the middle of its first batch, as it would if the process were killed.
            assertThat(crashing.awaitWritten(Duration.ofMinutes(1))).isFalse();
            // Records 1-9 are the first run (start, seven events, stop); 10 is the crashed writer's signed start.
            assertThat(lost).isNotEmpty().allSatisfy(seq -> assertThat(seq).isGreaterThan(10));
            AuditStore store = new AuditStore(db.jdbi());
            assertThat(store.head().orElseThrow().seq()).isEqualTo(10);
            assertThat(store.lastDigest().orElseThrow().lastSeq()).isEqualTo(10);
            assertThat(verify(db).ok()).isTrue();

            append(db, 200, 4);
            AuditVerification after = verify(db);
            assertThat(after.ok()).as("%s", after).isTrue();
            assertThat(after.records()).isEqualTo(16);
            assertThat(store.record(12).orElseThrow().event()).isEqualTo(event(200));
        }
    }

    @Test
    void writesADigestWhenTheIntervalPassesWithFewerRecords() {
        Clock clock = Clock.systemUTC();
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, tempDir);
                AuditLog log = new AuditLog(new AuditStore(db.jdbi()), key, new AuditConfig(1000,
                        Duration.ofMillis(200)), clock, new SimpleMeterRegistry())) {
            log.record(event(1, clock.instant()));
            log.record(event(2, clock.instant()));
            AuditStore store = new AuditStore(db.jdbi());
            // Record 1 is the writer's start, signed at once; the two events wait for the interval.
            await().atMost(Duration.ofMinutes(1)).until(() -> store.lastDigest().orElseThrow().lastSeq() == 3);
            assertThat(store.lastDigest().orElseThrow().firstSeq()).isBetween(2L, 3L);
        }
    }

    @Test
    void aFullQueueWaitsThenDropsAndCountsWhatFindsNoRoom() throws InterruptedException {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, tempDir)) {
            AuditLog log = new AuditLog(new AuditStore(db.jdbi()), key, EVERY_FIVE, Clock.systemUTC(), metrics,
                    written -> {
                        writing.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }, 2, Duration.ofMillis(1));
            log.record(event(0));
            writing.await();
            // The writer holds event 0 in an open transaction; the queue takes two more, the rest find no room.
            for (int i = 1; i <= 5; i++) {
                log.record(event(i));
            }
            assertThat(log.droppedCount()).isEqualTo(3);
            assertThat(metrics.get("factory.audit.dropped").counter().count()).isEqualTo(3.0);
            release.countDown();
            assertThat(log.awaitWritten(Duration.ofMinutes(1))).isTrue();
            log.close();
            log.record(event(9));
            assertThat(log.droppedCount()).as("recorded after close").isEqualTo(4);
            AuditVerification v = verify(db);
            assertThat(v.ok()).as("%s", v).isTrue();
            assertThat(v.records()).as("start, three events, stop").isEqualTo(5);
        }
    }

    @Test
    void verifiesARangeByTime() throws InterruptedException {
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, tempDir)) {
            append(db, 0, 12);
            AuditVerifier verifier = new AuditVerifier(new AuditStore(db.jdbi()), key.publicKey(), EVERY_FIVE);
            AuditVerification part = verifier.verify(Optional.of(event(3).at()), Optional.of(event(9).at()));
            assertThat(part.ok()).as("%s", part).isTrue();
            assertThat(part.firstSeq()).isEqualTo(5);
            assertThat(part.lastSeq()).isEqualTo(10);
            assertThat(part.records()).isEqualTo(6);
            sql(db, "UPDATE audit_records SET client = '10.9.9.9' WHERE seq = 11");
            assertThat(verifier.verify(Optional.of(event(3).at()), Optional.of(event(9).at())).ok()).isTrue();
            assertThat(problem(verifier.verify(Optional.empty(), Optional.empty())).seq()).isEqualTo(11);
            sql(db, "UPDATE audit_records SET client = '10.9.9.9' WHERE seq = 7");
            assertThat(problem(verifier.verify(Optional.of(event(3).at()), Optional.of(event(9).at()))).seq())
                    .isEqualTo(7);
        }
    }

    @Test
    void keyFilesSurviveARestartAndThePublicKeyVerifiesElsewhere() throws Exception {
        AuditKey first = AuditKey.loadOrCreate(tempDir.resolve("audit.key"), tempDir.resolve("audit.pub"));
        AuditKey again = AuditKey.loadOrCreate(tempDir.resolve("audit.key"), tempDir.resolve("audit.pub"));
        assertThat(again.keyId()).isEqualTo(first.keyId());
        assertThat(java.nio.file.Files.getPosixFilePermissions(tempDir.resolve("audit.key")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        var pub = AuditKey.parsePublicKey(java.nio.file.Files.readString(tempDir.resolve("audit.pub")));
        AuditDigest d = first.sign(AuditDigest.unsigned(1, 1, Instant.EPOCH, Instant.EPOCH, AuditHashing.GENESIS,
                Instant.EPOCH, first.keyId(), "", new AuditDigest.Cadence(1, Duration.ofSeconds(1)), false,
                AuditHashing.prefix(AuditHashing.GENESIS)));
        assertThat(AuditKey.verify(pub, d)).isTrue();
        assertThat(AuditKey.verify(AuditKey.generate().publicKey(), d)).isFalse();
    }

    /** Stands for the process dying between writing a batch and committing it. */
    private static final class SimulatedCrash extends Error {
        SimulatedCrash() {
            super("simulated crash before commit");
        }
    }
}
