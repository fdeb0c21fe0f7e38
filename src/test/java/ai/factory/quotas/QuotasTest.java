package ai.factory.quotas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.MovableClock;
import ai.factory.engine.Priority;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.quotas.QuotaExceededException.Kind;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The limits at their edges, with a clock the test moves; budgets and sharing on H2 and PostgreSQL. */
class QuotasTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final Principal KEY = new Principal("key-1", "app", "acme", Role.INVOKER);
    private static final Principal OTHER_KEY = new Principal("key-2", "batch-job", "acme", Role.INVOKER);
    private static final String MODEL = "acme/tiny";

    @TempDir Path dir;

    private static Limits rpm(long rpm) {
        return new Limits(rpm, null, null, null, null, null);
    }

    @Test
    void theRequestAfterTheLastOfAMinuteIsRefusedUntilOneRefills() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), rpm(3), "admin");
            for (int i = 0; i < 3; i++) {
                Ticket t = quotas.admit(KEY, MODEL, 10, 10, null);
                assertThat(t.status().requests().remaining()).isEqualTo(2 - i);
                t.settle(10, 10);
            }
            QuotaExceededException refused = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 10, 10, null));
            assertThat(refused.code()).isEqualTo(ErrorCode.RATE_LIMITED);
            assertThat(refused.kind()).isEqualTo(Kind.REQUESTS);
            assertThat(refused.retryable()).isTrue();
            // A bucket of 3 per minute refills one every 20 s.
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(20));
            assertThat(refused.status().requests()).isEqualTo(new LimitStatus.Counter(3, 0, Duration.ofSeconds(60)));
            assertThat(refused.getMessage()).contains("Rate limit reached for project acme on requests per minute: "
                    + "limit 3, none left; try again in 20.0s");
            assertThat(refused.auditDetail()).isEqualTo("limit=project=acme:rpm=3");
            clock.advance(Duration.ofSeconds(19));
            assertThatThrownBy(() -> quotas.admit(KEY, MODEL, 10, 10, null)).isInstanceOf(QuotaExceededException.class);
            clock.advance(Duration.ofSeconds(1));
            quotas.admit(KEY, MODEL, 10, 10, null).settle(10, 10);
            // Another project is not limited by acme's quota.
            quotas.admit(new Principal("key-9", "x", "other", Role.INVOKER), MODEL, 10, 10, null).settle(1, 1);
        }
    }

    @Test
    void tokensAreReservedAtAdmissionAndWhatACallDidNotUseComesBack() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), new Limits(null, 1000L, null, null, null, null), "admin");
            Ticket first = quotas.admit(KEY, MODEL, 100, 500, null);
            assertThat(first.status().tokens().remaining()).isEqualTo(400);
            QuotaExceededException refused = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 100, 500, null));
            assertThat(refused.kind()).isEqualTo(Kind.TOKENS);
            // 200 more tokens at 1000 a minute: 12 s.
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(12));
            assertThat(refused.status().tokens().remaining()).isEqualTo(400);
            first.settle(100, 50); // used 150 of the 600 it reserved
            first.settle(100, 500); // settling again changes nothing
            Ticket second = quotas.admit(KEY, MODEL, 100, 500, null);
            assertThat(second.status().tokens().remaining()).isEqualTo(250);
            second.cancel(); // never ran: all of it comes back
            QuotaExceededException tooLarge = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 200, 1000, null));
            assertThat(tooLarge.retryable()).as("a call larger than the limit never passes").isFalse();
            assertThat(tooLarge.getMessage()).contains("this call alone needs 1200", "max_tokens");
            // A call that used more than it reserved leaves the bucket in debt, which later calls wait out.
            Ticket over = quotas.admit(KEY, MODEL, 10, 10, null);
            over.settle(10, 990);
            assertThatThrownBy(() -> quotas.admit(KEY, MODEL, 10, 10, null)).isInstanceOf(QuotaExceededException.class);
        }
    }

    @Test
    void concurrentCallsAreCountedUntilTheyEnd() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(new QuotaScope("acme", "key-1", ""), new Limits(null, null, 2, null, null, null), "admin");
            Ticket a = quotas.admit(KEY, MODEL, 1, 1, null);
            quotas.admit(KEY, MODEL, 1, 1, null);
            QuotaExceededException refused = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 1, 1, null));
            assertThat(refused.kind()).isEqualTo(Kind.CONCURRENCY);
            assertThat(refused.getMessage()).contains("key key-1 of project acme on concurrent calls: limit 2, "
                    + "all running");
            // The project's other keys are not limited by key-1's quota.
            quotas.admit(OTHER_KEY, MODEL, 1, 1, null).settle(1, 1);
            a.settle(1, 1);
            quotas.admit(KEY, MODEL, 1, 1, null);
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void budgetsRenewAtTheSitesMidnightAndAtTheMonthsStart(TestDatabases.Kind kind) {
        // 23:30 in Berlin on the last day of the month.
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-31T22:30:00Z"));
        try (Database db = TestDatabases.open(kind, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), new Limits(null, null, null, 1000L, 1500L, null), "admin");
            quotas.admit(KEY, MODEL, 300, 300, null).settle(300, 300);
            QuotaExceededException refused = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 200, 300, null));
            assertThat(refused.code()).isEqualTo(ErrorCode.QUOTA_EXCEEDED);
            assertThat(refused.kind()).isEqualTo(Kind.DAY);
            assertThat(refused.retryable()).isFalse();
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofMinutes(30));
            assertThat(refused.getMessage()).contains("Quota exceeded for project acme on tokens per day: limit 1000 for "
                    + "2026-12-31 (Europe/Berlin), 600 used, and this call needs 500; it renews at 2027-01-01T00:00+01:00");
            quotas.admit(KEY, MODEL, 200, 200, null).settle(200, 200); // 1000 of the day: full
            assertThat(quotas.spent(QuotaScope.project("acme"))).isEqualTo(new Quotas.Spent(1000, 1000));
            clock.advance(Duration.ofMinutes(30)); // midnight in Berlin: a new day and a new month
            quotas.admit(KEY, MODEL, 400, 400, null).settle(400, 400);
            quotas.admit(KEY, MODEL, 100, 100, null).settle(100, 100);
            assertThat(quotas.spent(QuotaScope.project("acme"))).isEqualTo(new Quotas.Spent(1000, 1000));
            clock.advance(Duration.ofDays(1));
            quotas.admit(KEY, MODEL, 200, 200, null).settle(200, 200);
            QuotaExceededException month = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 50, 100, null));
            assertThat(month.kind()).isEqualTo(Kind.MONTH);
            assertThat(month.getMessage()).contains("tokens per month: limit 1500 for 2027-01 (Europe/Berlin)",
                    "renews at 2027-02-01T00:00+01:00");
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void budgetsOutliveARestartAndCountTheAuditTrailBeforeThem(TestDatabases.Kind kind) {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(kind, dir)) {
            // Two calls of key-1 earlier today, before any budget was set, and one of another project.
            audited(db, "2026-12-06T08:00:00Z", "acme", "key-1", MODEL, 100, 50);
            audited(db, "2026-12-06T09:00:00Z", "acme", "key-1", MODEL + ":2", 30, 20);
            audited(db, "2026-12-06T09:00:00Z", "other", "key-9", MODEL, 1000, 1000);
            audited(db, "2026-12-05T09:00:00Z", "acme", "key-1", MODEL, 1000, 1000); // yesterday
            try (Quotas quotas = quotas(db, clock, 1)) {
                quotas.set(new QuotaScope("acme", "key-1", MODEL), new Limits(null, null, null, 1000L, null, null),
                        "admin");
                assertThat(quotas.spent(new QuotaScope("acme", "key-1", MODEL)).today()).isEqualTo(200);
                quotas.admit(KEY, MODEL, 300, 300, null).settle(300, 300);
            }
            try (Quotas again = quotas(db, clock, 1)) {
                assertThat(again.spent(new QuotaScope("acme", "key-1", MODEL)).today()).isEqualTo(800);
                assertThatThrownBy(() -> again.admit(KEY, MODEL, 100, 200, null))
                        .isInstanceOf(QuotaExceededException.class);
            }
        }
    }

    @Test
    void aKeysLimitsLieWithinItsProjectsAndItsPriorityGoesToItsCalls() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), new Limits(10L, null, null, null, null, null), "admin");
            assertThatThrownBy(() -> quotas.set(new QuotaScope("acme", "key-1", MODEL), rpm(20), "admin"))
                    .isInstanceOf(FactoryException.class)
                    .hasMessageContaining("'rpm' of 20 is more than the 10 set on project acme")
                    .extracting(e -> ((FactoryException) e).param()).isEqualTo("rpm");
            assertThatThrownBy(() -> new Limits(0L, null, null, null, null, null))
                    .hasMessageContaining("'rpm' must be at least 1");
            quotas.set(new QuotaScope("acme", "key-1", ""), new Limits(5L, null, null, null, null, Priority.BATCH),
                    "admin");
            assertThat(quotas.admit(KEY, MODEL, 1, 1, null).priority()).isEqualTo(Priority.BATCH);
            // A call may not lift what its key was given, nor a key what its project was.
            assertThat(quotas.admit(KEY, MODEL, 1, 1, Priority.INTERACTIVE).priority()).isEqualTo(Priority.BATCH);
            assertThat(quotas.admit(OTHER_KEY, MODEL, 1, 1, null).priority()).isEqualTo(Priority.INTERACTIVE);
            assertThat(quotas.admit(OTHER_KEY, MODEL, 1, 1, Priority.BATCH).priority()).isEqualTo(Priority.BATCH);
            quotas.set(QuotaScope.project("acme"), new Limits(10L, null, null, null, null, Priority.BATCH), "admin");
            quotas.set(new QuotaScope("acme", "key-2", ""), new Limits(null, null, null, null, null,
                    Priority.INTERACTIVE), "admin");
            assertThat(quotas.admit(OTHER_KEY, MODEL, 1, 1, null).priority()).isEqualTo(Priority.BATCH);
            assertThat(quotas.remove(new QuotaScope("acme", "key-1", ""))).isTrue();
            assertThat(quotas.remove(new QuotaScope("acme", "key-1", ""))).isFalse();
            assertThat(quotas.list()).extracting(Quota::scope).containsExactly(QuotaScope.project("acme"),
                    new QuotaScope("acme", "key-2", ""));
        }
    }

    @Test
    void twoHundredConcurrentCallsAgainstFiftyRequestsPerMinuteLetExactlyFiftyThrough() throws Exception {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), rpm(50), "admin");
            assertThat(race(List.of(quotas), 200)).isEqualTo(50);
        }
    }

    @Test
    void twoControlPlaneReplicasOnOnePostgresqlAdmitNoMoreThanTheLimitTogether() throws Exception {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.POSTGRESQL, dir);
             Quotas a = quotas(db, clock, 2); Quotas b = quotas(db, clock, 2)) {
            a.set(QuotaScope.project("acme"), new Limits(50L, null, null, 1000L, null, null), "admin");
            b.sync(); // picks up the quota set through a
            // Each holds half of every per-minute limit: calls spread over both get exactly the limit.
            assertThat(race(List.of(a, b), 200)).isEqualTo(50);
            // A budget is shared through the database: what a spent, b sees after both synced (the race's 50 calls
            // spent 2 tokens each).
            clock.advance(Duration.ofMinutes(1));
            a.admit(KEY, MODEL, 300, 300, null).settle(300, 300);
            a.sync();
            b.sync();
            assertThat(b.spent(QuotaScope.project("acme")).today()).isEqualTo(700);
            assertThatThrownBy(() -> b.admit(KEY, MODEL, 300, 200, null)).isInstanceOf(QuotaExceededException.class);
        }
    }

    @Test
    void aBudgetSetLaterCountsThePeriodFromTheAuditTrailWhateverWasReadBefore() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 1)) {
            quotas.set(QuotaScope.project("acme"), rpm(600), "admin");
            assertThat(quotas.spent(QuotaScope.project("acme"))).isEqualTo(new Quotas.Spent(0, 0));
            // Calls while the project has no budget: the audit trail has them, the quotas do not count them.
            audited(db, "2026-12-06T10:30:00Z", "acme", "key-1", MODEL, 600, 400);
            quotas.admit(KEY, MODEL, 10, 10, null).settle(10, 10);
            clock.advance(Duration.ofHours(1));
            quotas.set(QuotaScope.project("acme"), new Limits(600L, null, null, 1000L, null, null), "admin");
            assertThat(quotas.spent(QuotaScope.project("acme")).today()).isEqualTo(1000);
            assertThatThrownBy(() -> quotas.admit(KEY, MODEL, 1, 1, null)).isInstanceOf(QuotaExceededException.class);
            // A priority changed alone keeps what the buckets hold.
            quotas.set(QuotaScope.project("acme"), new Limits(600L, null, null, 1000L, null, Priority.BATCH), "admin");
            assertThat(quotas.spent(QuotaScope.project("acme")).today()).isEqualTo(1000);
        }
    }

    @Test
    void aLimitBelowTheNumberOfReplicasStillLetsCallsIn() {
        MovableClock clock = MovableClock.at(Instant.parse("2026-12-06T10:00:00Z"));
        try (Database db = TestDatabases.open(TestDatabases.Kind.H2, dir); Quotas quotas = quotas(db, clock, 3)) {
            quotas.set(QuotaScope.project("acme"), new Limits(1L, 100L, 1, null, null, null), "admin");
            // A third of one request a minute would never make one whole: each replica holds at least one.
            quotas.admit(KEY, MODEL, 10, 10, null).settle(10, 10);
            // A call larger than this replica's share of the tokens, within the limit, passes while the share is
            // whole, and leaves it in debt.
            clock.advance(Duration.ofMinutes(1));
            quotas.set(QuotaScope.project("acme"), new Limits(100L, 100L, null, null, null, null), "admin");
            quotas.admit(KEY, MODEL, 50, 40, null).settle(50, 40);
            QuotaExceededException again = catchThrowableOfType(QuotaExceededException.class,
                    () -> quotas.admit(KEY, MODEL, 50, 40, null));
            assertThat(again.retryable()).isTrue();
        }
    }

    /** Admits {@code calls} calls at once, spread over the replicas in turn; returns how many got through. */
    private static int race(List<Quotas> replicas, int calls) throws Exception {
        AtomicInteger admitted = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<java.util.concurrent.Future<?>> done = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < calls; i++) {
                Quotas q = replicas.get(i % replicas.size());
                done.add(pool.submit(() -> {
                    start.await();
                    try {
                        q.admit(KEY, MODEL, 1, 1, null).settle(1, 1);
                        admitted.incrementAndGet();
                    } catch (QuotaExceededException refused) {
                        // counted by what got through
                    }
                    return null;
                }));
            }
            start.countDown();
            for (var f : done) {
                f.get();
            }
        }
        return admitted.get();
    }

    private static Quotas quotas(Database db, MovableClock clock, int replicas) {
        return new Quotas(db.jdbi(), clock, BERLIN, () -> replicas);
    }

    /** An invoke record in the audit trail (outside its hash chain: only the sums are read here). */
    private static void audited(Database db, String at, String project, String key, String model, long prompt,
                                long completion) {
        db.jdbi().useHandle(h -> {
            long seq = h.createQuery("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_records").mapTo(Long.class).one();
            h.createUpdate("INSERT INTO audit_records (seq, at, principal_id, principal_name, project, action, "
                            + "resource, decision, outcome, status, client, request_id, bytes_in, bytes_out, "
                            + "prompt_tokens, completion_tokens, detail, prev_hash, hash) VALUES (:seq, :at, :k, 'app', "
                            + ":p, 'invoke', :r, 'allow', 'success', 200, '127.0.0.1', :id, 0, 0, :pt, :ct, '', '', '')")
                    .bind("seq", seq).bind("at", Timestamp.from(Instant.parse(at))).bind("k", key).bind("p", project)
                    .bind("r", "model=" + model).bind("id", "r" + seq).bind("pt", prompt).bind("ct", completion)
                    .execute();
        });
    }
}
