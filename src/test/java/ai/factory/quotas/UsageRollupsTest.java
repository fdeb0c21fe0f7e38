package ai.factory.quotas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.MovableClock;
import ai.factory.security.audit.AuditStore;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Rollups from the audit trail, once per record whoever rolls; replicas' time; the chargeback at the site's rates. */
class UsageRollupsTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final Instant T0 = Instant.parse("2026-12-06T22:10:00Z"); // 23:10 in Berlin

    @TempDir Path dir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void theAuditTrailIsRolledUpOnceByHourDayKeyModelAndPriority(TestDatabases.Kind kind) {
        MovableClock clock = MovableClock.at(T0.plus(Duration.ofHours(2)));
        try (Database db = TestDatabases.open(kind, dir)) {
            record(db, T0, "acme", "p-1", "invoke", "model=acme/tiny", "allow", "success", 10, 5, "");
            record(db, T0.plusSeconds(60), "acme", "p-1", "invoke", "model=acme/tiny:2", "allow", "failure", 3, 0, "");
            record(db, T0.plusSeconds(120), "acme", "p-2", "invoke", "model=acme/tiny", "allow", "success", 7, 7,
                    " priority=batch");
            record(db, T0.plusSeconds(3600), "acme", "p-1", "invoke", "model=acme/tiny", "allow", "success", 1, 1, "");
            record(db, T0, "acme", "p-1", "invoke", "model=acme/tiny", "deny", "failure", 0, 0, ""); // never ran
            record(db, T0, "acme", "p-1", "readModel", "ns=acme", "allow", "success", 0, 0, ""); // not a call
            record(db, T0, "other", "p-9", "invoke", "model=o/m", "allow", "success", 100, 100, "");
            UsageRollups a = new UsageRollups(db.jdbi(), new AuditStore(db.jdbi()), BERLIN, clock);
            UsageRollups b = new UsageRollups(db.jdbi(), new AuditStore(db.jdbi()), BERLIN, clock);
            assertThat(a.roll()).isEqualTo(7);
            assertThat(b.roll()).as("rolled already: nothing is counted twice").isZero();

            Instant from = T0.minus(Duration.ofDays(1));
            Instant to = T0.plus(Duration.ofDays(1));
            List<UsageRollups.Row> byModel = b.query(Set.of("project", "model"), null, from, to, Optional.empty());
            assertThat(byModel).extracting(r -> r.dimensions().get("project") + " " + r.dimensions().get("model")
                    + " " + r.requests() + " " + r.errors() + " " + r.promptTokens() + " " + r.completionTokens())
                    .containsExactly("acme acme/tiny 4 1 21 13", "other o/m 1 0 100 100");
            List<UsageRollups.Row> byPriority = b.query(Set.of("priority"), null, from, to, Optional.of("acme"));
            assertThat(byPriority).extracting(r -> r.dimensions().get("priority") + " " + r.requests())
                    .containsExactly("batch 1", "interactive 3");
            // 23:10 and 00:10 in Berlin: two hours, and two days.
            List<UsageRollups.Row> hours = b.query(Set.of("key"), "hour", from, to, Optional.of("acme"));
            assertThat(hours).extracting(r -> r.start() + " " + r.dimensions().get("key") + " " + r.requests())
                    .containsExactly("2026-12-06T22:00:00Z p-1 2", "2026-12-06T22:00:00Z p-2 1",
                            "2026-12-06T23:00:00Z p-1 1");
            List<UsageRollups.Row> days = b.query(Set.of(), "day", from, to, Optional.of("acme"));
            assertThat(days).extracting(r -> r.start() + " " + r.requests())
                    .containsExactly("2026-12-05T23:00:00Z 3", "2026-12-06T23:00:00Z 1");

            // A record written later is rolled up by the next roll, once.
            record(db, T0.plusSeconds(30), "acme", "p-1", "invoke", "model=acme/tiny", "allow", "success", 2, 2, "");
            assertThat(b.roll()).isEqualTo(1);
            assertThat(a.query(Set.of(), null, from, to, Optional.of("acme")).getFirst().requests()).isEqualTo(5);

            assertThatThrownBy(() -> a.query(Set.of("colour"), null, from, to, Optional.empty()))
                    .isInstanceOf(FactoryException.class).extracting(e -> ((FactoryException) e).param()).isEqualTo("by");
            assertThatThrownBy(() -> a.query(Set.of(), "week", from, to, Optional.empty()))
                    .isInstanceOf(FactoryException.class).extracting(e -> ((FactoryException) e).param())
                    .isEqualTo("period");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void replicasTimeAndTokensArePricedAtTheSitesRates(TestDatabases.Kind kind) {
        MovableClock clock = MovableClock.at(T0);
        try (Database db = TestDatabases.open(kind, dir)) {
            record(db, T0, "acme", "p-1", "invoke", "model=acme/tiny", "allow", "success", 2_000_000, 1_000_000, "");
            UsageRollups usage = new UsageRollups(db.jdbi(), new AuditStore(db.jdbi()), BERLIN, clock);
            // Two replicas on one GPU each ran half an hour.
            usage.recordReplicas(List.of(new UsageRollups.ReplicaUse("acme", "acme/tiny", 2, 2)), T0,
                    T0.plus(Duration.ofMinutes(30)));
            Chargeback chargeback = new Chargeback(db.jdbi(), usage, clock);
            assertThat(chargeback.rates()).isEqualTo(Chargeback.Rates.NONE);
            chargeback.setRates(new Chargeback.Rates("EUR", Map.of("acme/tiny", new Chargeback.TokenRate(
                    new BigDecimal("0.50"), new BigDecimal("1.50"))), null, new BigDecimal("0.10"),
                    new BigDecimal("2.00")), "admin");
            // Hours count whole: a range takes the hours that begin in it.
            Chargeback.Report report = chargeback.report(T0.minus(Duration.ofHours(1)), T0.plus(Duration.ofHours(2)),
                    Optional.empty());
            assertThat(report.currency()).isEqualTo("EUR");
            Chargeback.Line line = report.projects().getFirst().lines().getFirst();
            // 2M prompt at 0.50 and 1M output at 1.50 per million; 1 replica-hour at 0.10; 1 GPU-hour at 2.00.
            assertThat(line.tokens()).isEqualByComparingTo("2.50");
            assertThat(line.replicaHours()).isEqualByComparingTo("1");
            assertThat(line.accelerators()).isEqualByComparingTo("2.00");
            assertThat(line.total()).isEqualByComparingTo("4.60");
            assertThat(report.total()).isEqualByComparingTo("4.60");
            assertThatThrownBy(() -> new Chargeback.TokenRate(new BigDecimal("-1"), BigDecimal.ONE))
                    .isInstanceOf(FactoryException.class).hasMessageContaining("'inputPerMillion' must not be negative");
        }
    }

    /** An audit record, outside the hash chain (only its fields are read here). */
    static void record(Database db, Instant at, String project, String principal, String action, String resource,
                       String decision, String outcome, long prompt, long completion, String detailSuffix) {
        db.jdbi().useHandle(h -> {
            long seq = h.createQuery("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_records").mapTo(Long.class).one();
            h.createUpdate("INSERT INTO audit_records (seq, at, principal_id, principal_name, project, action, "
                            + "resource, decision, outcome, status, client, request_id, bytes_in, bytes_out, "
                            + "prompt_tokens, completion_tokens, detail, prev_hash, hash) VALUES (:seq, :at, :k, 'app', "
                            + ":p, :a, :r, :d, :o, 200, '127.0.0.1', :id, 0, 0, :pt, :ct, :detail, '', '')")
                    .bind("seq", seq).bind("at", Timestamp.from(at)).bind("k", principal).bind("p", project)
                    .bind("a", action).bind("r", resource).bind("d", decision).bind("o", outcome).bind("id", "r" + seq)
                    .bind("pt", prompt).bind("ct", completion).bind("detail", "POST /v1/chat/completions" + detailSuffix)
                    .execute();
        });
    }
}
