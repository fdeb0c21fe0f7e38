package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;

import ai.factory.config.DatabaseConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * V15 and V16 on a database that already holds deployments: each keeps its settings and takes the defaults of the new
 * ones (automatic step tokens (0) and an f16 KV cache; no prefix cache), and new rows may name others.
 */
class DeploymentSettingsMigrationTest {
    @TempDir
    Path tempDir;

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void existingDeploymentsGetAutomaticStepTokensAndAnF16Cache(TestDatabases.Kind kind) {
        String schema = kind == TestDatabases.Kind.POSTGRESQL ? TestDatabases.createSchema() : null;
        try {
            DatabaseConfig config = schema == null ? TestDatabases.h2Config(tempDir)
                    : TestDatabases.postgresConfig(schema);
            migrateTo(config, "14", DeploymentSettingsMigrationTest::fillVersion14);

            try (Database db = Database.open(config)) {
                db.jdbi().useHandle(h -> {
                    assertThat(h.createQuery("SELECT parallel, gpu_layers, step_tokens, cache_type FROM deployments "
                                    + "WHERE id = 'dep-1'")
                            .map((rs, ctx) -> List.of(rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getString(4))).one())
                            .isEqualTo(List.of(4, -1, 0, "f16"));
                    h.execute("INSERT INTO deployments (id, model_name, version, state, replicas, step_tokens, "
                            + "cache_type, created_at, created_by) "
                            + "VALUES ('dep-2', 'acme/a', 1, 'ready', 1, 32, 'q8_0', CURRENT_TIMESTAMP, 'p-1')");
                    assertThat(h.createQuery("SELECT step_tokens, cache_type FROM deployments WHERE id = 'dep-2'")
                            .map((rs, ctx) -> List.of(rs.getInt(1), rs.getString(2))).one())
                            .isEqualTo(List.of(32, "q8_0"));
                });
            }
        } finally {
            if (schema != null) {
                TestDatabases.dropSchema(schema);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("ai.factory.storage.TestDatabases#both")
    void existingDeploymentsGetNoPrefixCache(TestDatabases.Kind kind) {
        String schema = kind == TestDatabases.Kind.POSTGRESQL ? TestDatabases.createSchema() : null;
        try {
            DatabaseConfig config = schema == null ? TestDatabases.h2Config(tempDir)
                    : TestDatabases.postgresConfig(schema);
            migrateTo(config, "15", jdbi -> {
                fillVersion14(jdbi);
                jdbi.useHandle(h -> h.execute("UPDATE deployments SET step_tokens = 32, cache_type = 'q8_0' "
                        + "WHERE id = 'dep-1'"));
            });

            try (Database db = Database.open(config)) {
                db.jdbi().useHandle(h -> {
                    assertThat(h.createQuery("SELECT parallel, step_tokens, cache_type, prefix_cache FROM deployments "
                                    + "WHERE id = 'dep-1'")
                            .map((rs, ctx) -> List.of(rs.getInt(1), rs.getInt(2), rs.getString(3), rs.getInt(4))).one())
                            .isEqualTo(List.of(4, 32, "q8_0", 0));
                    h.execute("INSERT INTO deployments (id, model_name, version, state, replicas, prefix_cache, "
                            + "created_at, created_by) "
                            + "VALUES ('dep-2', 'acme/a', 1, 'ready', 1, 4, CURRENT_TIMESTAMP, 'p-1')");
                    assertThat(h.createQuery("SELECT prefix_cache FROM deployments WHERE id = 'dep-2'")
                            .mapTo(Integer.class).one()).isEqualTo(4);
                });
            }
        } finally {
            if (schema != null) {
                TestDatabases.dropSchema(schema);
            }
        }
    }

    /** Migrates a fresh database up to {@code target} and lets {@code fill} write rows in that version's tables. */
    private static void migrateTo(DatabaseConfig config, String target, Consumer<Jdbi> fill) {
        try (HikariDataSource before = new HikariDataSource()) {
            before.setJdbcUrl(config.url());
            if (config.user() != null) {
                before.setUsername(config.user());
            }
            if (config.password() != null) {
                before.setPassword(config.password());
            }
            Flyway.configure().dataSource(before).locations("classpath:db/migration").target(target).load().migrate();
            fill.accept(Jdbi.create(before));
        }
    }

    private static void fillVersion14(Jdbi jdbi) {
        jdbi.useHandle(h -> {
            h.execute("INSERT INTO principals (id, name, project, role, created_at) "
                    + "VALUES ('p-1', 'admin', 'default', 'admin', CURRENT_TIMESTAMP)");
            h.execute("INSERT INTO models (name, project, created_at, created_by) "
                    + "VALUES ('acme/a', 'default', CURRENT_TIMESTAMP, 'p-1')");
            h.execute("INSERT INTO model_versions (model_name, version, format, metadata, imported_at, imported_by, "
                    + "source) VALUES ('acme/a', 1, 'gguf', '{}', CURRENT_TIMESTAMP, 'p-1', 'test')");
            h.execute("INSERT INTO deployments (id, model_name, version, state, replicas, parallel, created_at, "
                    + "created_by) VALUES ('dep-1', 'acme/a', 1, 'ready', 1, 4, CURRENT_TIMESTAMP, 'p-1')");
        });
    }
}
