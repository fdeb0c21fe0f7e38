// What the quota check costs a call: Quotas.admit and the ticket's settle, in process, on an embedded H2 database
// (which a call never touches: budgets are read once per period and written by the background sync). Four cases:
// no quota at all, a project's per-minute limits, the project's and its key's on every model and on the model
// (four quotas, budgets included), and that last with two threads admitting at once.
//
//   mvn -q -DskipTests package
//   java -cp "target/classes:$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout)" \
//     bench/QuotaAdmission.java
//
// Prints p50 and p99 of 200,000 admissions per case after 100,000 warm-up ones. See docs/benchmarks.md, "Admission
// under quotas".

import ai.factory.config.DatabaseConfig;
import ai.factory.engine.Priority;
import ai.factory.identity.Principal;
import ai.factory.identity.Role;
import ai.factory.quotas.Limits;
import ai.factory.quotas.QuotaScope;
import ai.factory.quotas.Quotas;
import ai.factory.storage.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

public class QuotaAdmission {
    static final int WARMUP = 100_000;
    static final int CALLS = 200_000;
    static final Principal KEY = new Principal("p-bench", "bench", "acme", Role.INVOKER);
    static final String MODEL = "acme/tiny";
    static final long HUGE = 1_000_000_000_000L;

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("quota-bench");
        DatabaseConfig config = new DatabaseConfig("jdbc:h2:file:" + dir.resolve("db") + ";DB_CLOSE_DELAY=0", "sa", "",
                2, Duration.ofSeconds(10));
        try (Database db = Database.open(config);
             Quotas quotas = new Quotas(db.jdbi(), Clock.systemUTC(), ZoneId.of("UTC"), () -> 1)) {
            report("no quota", quotas, 1);
            quotas.set(QuotaScope.project("acme"), new Limits(HUGE, HUGE, 1_000_000, null, null, null), "bench");
            report("project rpm, tpm, concurrency", quotas, 1);
            quotas.set(QuotaScope.project("acme"), new Limits(HUGE, HUGE, 1_000_000, HUGE, HUGE, null), "bench");
            quotas.set(new QuotaScope("acme", "", MODEL), new Limits(HUGE, HUGE, 1_000_000, HUGE, HUGE, null), "bench");
            quotas.set(new QuotaScope("acme", KEY.id(), ""), new Limits(HUGE, HUGE, 1_000_000, HUGE, HUGE,
                    Priority.INTERACTIVE), "bench");
            quotas.set(new QuotaScope("acme", KEY.id(), MODEL), new Limits(HUGE, HUGE, 1_000_000, HUGE, HUGE, null),
                    "bench");
            report("4 quotas (project, key, each on the model), budgets too", quotas, 1);
            report("4 quotas, 2 threads at once", quotas, 2);
        }
    }

    static void report(String name, Quotas quotas, int threads) throws Exception {
        long[][] samples = new long[threads][];
        CountDownLatch start = new CountDownLatch(1);
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                samples[id] = run(quotas);
            });
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        long[] all = Arrays.stream(samples).flatMapToLong(Arrays::stream).sorted().toArray();
        System.out.printf("%-58s p50 %6.2f µs   p99 %6.2f µs%n", name, all[all.length / 2] / 1000.0,
                all[(int) (all.length * 0.99)] / 1000.0);
    }

    static long[] run(Quotas quotas) {
        for (int i = 0; i < WARMUP; i++) {
            quotas.admit(KEY, MODEL, 100, 100, null).settle(100, 10);
        }
        long[] ns = new long[CALLS];
        for (int i = 0; i < CALLS; i++) {
            long t0 = System.nanoTime();
            quotas.admit(KEY, MODEL, 100, 100, null).settle(100, 10);
            ns[i] = System.nanoTime() - t0;
        }
        return ns;
    }
}
