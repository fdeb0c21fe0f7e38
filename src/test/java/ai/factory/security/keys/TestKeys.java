package ai.factory.security.keys;

import ai.factory.security.audit.AuditEvent;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;

/** A real key hierarchy for tests: a local PKCS12 master keystore in {@code dir}, audit events kept in a list. */
public final class TestKeys {
    private TestKeys() {}

    public static MasterKeys localMaster(Path dir) {
        return MasterKeys.local(dir.resolve("master.p12"), null, dir.resolve("master.p12.password"), "factory-master");
    }

    public static KeyHierarchy hierarchy(Jdbi jdbi, Path dir) {
        return new KeyHierarchy(jdbi, localMaster(dir), e -> {}, Clock.systemUTC());
    }

    public static KeyHierarchy hierarchy(Jdbi jdbi, MasterKeys master, List<AuditEvent> audit) {
        return new KeyHierarchy(jdbi, master, audit::add, Clock.systemUTC());
    }

    public static List<AuditEvent> auditList() {
        return new CopyOnWriteArrayList<>();
    }
}
