package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.config.DatabaseConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * V5 on a database that already holds keys, models and deployments: every project they name becomes a row, the
 * default project exists, models read 'internal', and each deployment takes its model's project.
 */
class ProjectsMigrationTest {
    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void existingRowsGetTheirProjects(TestDatabases.Kind kind) {
        String schema = kind == TestDatabases.Kind.POSTGRESQL ? TestDatabases.createSchema() : null;
        try {
            DatabaseConfig config = schema == null ? TestDatabases.h2Config(tempDir) : TestDatabases.postgresConfig(schema);
            try (HikariDataSource before = new HikariDataSource()) {
                before.setJdbcUrl(config.url());
                if (config.user() != null) {
                    before.setUsername(config.user());
                }
                if (config.password() != null) {
                    before.setPassword(config.password());
                }
                Flyway.configure().dataSource(before).locations("classpath:db/migration").target("4").load().migrate();
                fillVersion4(Jdbi.create(before));
            }

            try (Database db = Database.open(config)) {
                db.jdbi().useHandle(h -> {
                    assertThat(h.createQuery("SELECT name FROM projects ORDER BY name").mapTo(String.class).list())
                            .isEqualTo(List.of("default", "lab", "research"));
                    assertThat(h.createQuery("SELECT DISTINCT classification FROM models").mapTo(String.class).list())
                            .containsExactly("internal");
                    assertThat(h.createQuery("SELECT project FROM deployments WHERE id = 'dep-1'").mapTo(String.class)
                            .one()).isEqualTo("lab");
                    assertThat(h.createQuery("SELECT COUNT(*) FROM site_policies").mapTo(Integer.class).one()).isZero();
                });
            }
        } finally {
            if (schema != null) {
                TestDatabases.dropSchema(schema);
            }
        }
    }

    private static void fillVersion4(Jdbi jdbi) {
        jdbi.useHandle(h -> {
            h.execute("INSERT INTO principals (id, name, project, role, created_at) VALUES "
                    + "('p-1', 'ci', 'research', 'invoker', CURRENT_TIMESTAMP), "
                    + "('p-2', 'admin', 'default', 'admin', CURRENT_TIMESTAMP)");
            h.execute("INSERT INTO models (name, project, created_at, created_by) VALUES "
                    + "('acme/a', 'lab', CURRENT_TIMESTAMP, 'p-2'), ('acme/b', 'default', CURRENT_TIMESTAMP, 'p-2')");
            h.execute("INSERT INTO model_versions (model_name, version, format, metadata, imported_at, imported_by, "
                    + "source) VALUES ('acme/a', 1, 'gguf', '{}', CURRENT_TIMESTAMP, 'p-2', 'test')");
            h.execute("INSERT INTO deployments (id, model_name, version, state, replicas, created_at, created_by) "
                    + "VALUES ('dep-1', 'acme/a', 1, 'ready', 1, CURRENT_TIMESTAMP, 'p-2')");
        });
    }
}
