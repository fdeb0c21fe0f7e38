package ai.factory.storage;

import ai.factory.config.DatabaseConfig;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatabaseTest {
    private static final String BOTH = "ai.factory.storage.TestDatabases#both";

    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource(BOTH)
    void migrationsCreateEveryTable(TestDatabases.Kind kind) {
        try (Database database = TestDatabases.open(kind, tempDir)) {
            var tables = database.jdbi().withHandle(handle -> handle
                    .createQuery("SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA")
                    .mapTo(String.class)
                    .list());

            assertThat(tables).contains("principals", "api_keys", "models", "model_versions", "model_files", "deployments", "flyway_schema_history");
            assertThat(database.vendor()).isEqualTo(kind == TestDatabases.Kind.H2 ? "h2" : "postgresql");
            assertThat(database.isHealthy()).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource(BOTH)
    void storesInstantsAsTheSameMomentWhateverTheSessionZone(TestDatabases.Kind kind) {
        Instant created = Instant.parse("2024-03-01T12:34:56.123456Z");
        try (Database database = TestDatabases.open(kind, tempDir)) {
            database.jdbi().useHandle(handle -> {
                // A session zone far from the JVM's: binding and reading must not depend on either.
                handle.execute("SET TIME ZONE 'Asia/Kolkata'");
                insertPrincipal(handle, "p-1", created);
                handle.execute("INSERT INTO principals (id, name, project, role, created_at) "
                        + "VALUES ('p-2', 'literal', 'default', 'admin', TIMESTAMP WITH TIME ZONE '2024-03-01 05:34:56.123456-07:00')");

                Instant bound = handle.createQuery("SELECT created_at FROM principals WHERE id = 'p-1'").mapTo(Instant.class).one();
                Instant literal = handle.createQuery("SELECT created_at FROM principals WHERE id = 'p-2'").mapTo(Instant.class).one();
                // Compared inside the database against an explicit offset, so a shift that binding
                // and reading would undo together still shows.
                int matching = handle.createQuery("SELECT COUNT(*) FROM principals "
                                + "WHERE created_at = TIMESTAMP WITH TIME ZONE '2024-03-01 14:34:56.123456+02:00'")
                        .mapTo(Integer.class)
                        .one();

                assertThat(bound).isEqualTo(created);
                assertThat(literal).isEqualTo(created);
                assertThat(matching).isEqualTo(2);
            });
        }
    }

    @Test
    void reopenedH2FileKeepsItsData() {
        Instant created = Instant.now().truncatedTo(ChronoUnit.MICROS);
        try (Database database = TestDatabases.open(TestDatabases.Kind.H2, tempDir)) {
            database.jdbi().useTransaction(handle -> insertPrincipal(handle, "p-1", created));
        }

        try (Database reopened = Database.open(TestDatabases.h2Config(tempDir))) {
            Instant read = reopened.jdbi().withHandle(handle -> handle
                    .createQuery("SELECT created_at FROM principals WHERE id = 'p-1'")
                    .mapTo(Instant.class)
                    .one());
            assertThat(read).isEqualTo(created);
        }
    }

    @Test
    void closeReleasesTheH2FileSoAnotherProcessCouldOpenIt() throws Exception {
        Path file = tempDir.resolve("db").resolve("factory.mv.db");
        Database database = TestDatabases.open(TestDatabases.Kind.H2, tempDir);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // H2 holds a lock on the file while open; in the same JVM, trying an overlapping lock throws.
            assertThatThrownBy(channel::tryLock).isInstanceOf(OverlappingFileLockException.class);

            database.close();

            try (FileLock lock = channel.tryLock()) {
                assertThat(lock).isNotNull();
            }
        }
        assertThat(database.isHealthy()).isFalse();
    }

    @Test
    void rejectsUnsupportedUrlsWithTheFormsToUse() {
        assertThatThrownBy(() -> Database.open(new DatabaseConfig("jdbc:sqlite:factory.db", null, null)))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessage("unsupported database URL 'jdbc:sqlite:factory.db'; use jdbc:h2:file:… or jdbc:postgresql://…");
    }

    @Test
    @Timeout(15)
    void unreachablePostgresIsUnavailableWithTheUrlButNotThePassword() {
        DatabaseConfig config = new DatabaseConfig("jdbc:postgresql://127.0.0.1:1/test?password=hunter2", "factory", "s3cret")
                .withConnectionTimeout(Duration.ofSeconds(1));

        assertThatThrownBy(() -> Database.open(config))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                .hasMessageStartingWith("cannot connect to the database at jdbc:postgresql://127.0.0.1:1/test?password=***: ")
                .message().doesNotContain("hunter2").doesNotContain("s3cret");
    }

    private static void insertPrincipal(Handle handle, String id, Instant createdAt) {
        handle.createUpdate("INSERT INTO principals (id, name, project, role, created_at) VALUES (:id, :name, :project, :role, :createdAt)")
                .bind("id", id)
                .bind("name", "alice")
                .bind("project", "default")
                .bind("role", "admin")
                .bind("createdAt", createdAt)
                .execute();
    }
}
