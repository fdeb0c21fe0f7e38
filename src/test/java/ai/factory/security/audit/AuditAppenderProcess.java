package ai.factory.security.audit;

import ai.factory.config.AuditConfig;
import ai.factory.storage.Database;
import ai.factory.config.DatabaseConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A separate JVM that appends audit events as fast as the writer takes them until it is killed, for
 * {@link AuditCrashTest}. Every 20 ms it prints the committed chain head as {@code head N}, so the test knows
 * how far it got without opening the database (an embedded H2 file admits one process at a time).
 *
 * <p>Arguments: JDBC URL, user ({@code -} for none), password ({@code -} for none), private key file, public key file.
 */
public final class AuditAppenderProcess {
    private AuditAppenderProcess() {}

    public static void main(String[] args) throws InterruptedException {
        DatabaseConfig config = new DatabaseConfig(args[0], orNull(args[1]), orNull(args[2]));
        AuditKey key = AuditKey.loadOrCreate(Path.of(args[3]), Path.of(args[4]));
        Database db = Database.open(config);
        AuditStore store = new AuditStore(db.jdbi());
        AuditLog log = new AuditLog(store, key, new AuditConfig(5, Duration.ofHours(1)), Clock.systemUTC(),
                new SimpleMeterRegistry());
        var reporter = Executors.newSingleThreadScheduledExecutor();
        reporter.scheduleAtFixedRate(() -> System.out.println("head " + store.head().map(AuditRecord::seq).orElse(0L)),
                0, 20, TimeUnit.MILLISECONDS);
        for (int i = 0; ; i++) {
            // Made now: digests come by count alone, so the kill can leave a few records unsigned.
            log.record(AuditChainTest.event(i, java.time.Instant.now()));
        }
    }

    private static String orNull(String arg) {
        return arg.equals("-") ? null : arg;
    }
}
