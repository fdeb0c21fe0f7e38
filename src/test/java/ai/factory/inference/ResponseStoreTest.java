package ai.factory.inference;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.security.content.AuditContent;
import ai.factory.security.keys.KeyHierarchy;
import ai.factory.security.keys.TestKeys;
import ai.factory.storage.BlobStore;
import ai.factory.storage.Database;
import ai.factory.storage.TestDatabases;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Kept conversations are logged content: they go with the content's retention, deletion and project, on H2 and PostgreSQL. */
class ResponseStoreTest {
    private static final Instant AT = Instant.parse("2026-12-05T10:00:00Z");

    @TempDir
    Path dir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void keptConversationsLiveAndDieWithTheirProjectsContent(TestDatabases.Kind kind) throws Exception {
        try (Database db = TestDatabases.open(kind, dir)) {
            KeyHierarchy keys = TestKeys.hierarchy(db.jdbi(), dir);
            BlobStore blobs = new BlobStore(dir.resolve("blobs"));
            AuditContent content = new AuditContent(db.jdbi(), blobs, keys);
            keys.ensureKek("alpha");
            keys.ensureKek("beta");
            Set<String> logging = Set.of("alpha", "beta");
            ResponseStore store = new ResponseStore(db.jdbi(), content, logging::contains, Clock.fixed(AT, ZoneOffset.UTC));

            assertThat(store.keeps("alpha")).isTrue();
            assertThat(store.keeps("gamma")).isFalse();
            store.put("alpha", "resp_1", "first".getBytes(StandardCharsets.UTF_8));
            store.put("alpha", "resp_2", "second".getBytes(StandardCharsets.UTF_8));
            store.put("beta", "resp_3", "third".getBytes(StandardCharsets.UTF_8));

            assertThat(store.get("alpha", "resp_1")).hasValueSatisfying(b ->
                    assertThat(new String(b, StandardCharsets.UTF_8)).isEqualTo("first"));
            assertThat(store.get("beta", "resp_1")).as("another project's").isEmpty();

            assertThat(store.delete("alpha", "resp_1")).isTrue();
            assertThat(store.delete("alpha", "resp_1")).isFalse();
            assertThat(store.get("alpha", "resp_1")).isEmpty();

            // Retention expires the content, and the kept response with it.
            assertThat(content.expire(AT.plus(Duration.ofDays(1)))).containsEntry("alpha", 1).containsEntry("beta", 1);
            assertThat(store.get("alpha", "resp_2")).isEmpty();
            assertThat(store.get("beta", "resp_3")).isEmpty();
            int rows = db.jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM stored_responses").mapTo(Integer.class).one());
            assertThat(rows).isZero();

            // A deleted project's content rows go, and its kept responses' rows with them.
            store.put("beta", "resp_4", "fourth".getBytes(StandardCharsets.UTF_8));
            content.projectDeleted("beta");
            assertThat(store.get("beta", "resp_4")).isEmpty();
        }
    }
}
