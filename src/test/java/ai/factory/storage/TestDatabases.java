package ai.factory.storage;

import ai.factory.config.DatabaseConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.fail;

/**
 * Real databases for tests: an H2 file in the test's temporary folder, or a fresh schema in the
 * PostgreSQL at {@code FACTORY_TEST_PG_URL} (default {@code jdbc:postgresql://127.0.0.1:5432/test},
 * user {@code FACTORY_TEST_PG_USER}, else {@code postgres}, else the OS user; password
 * {@code FACTORY_TEST_PG_PASSWORD}). Run one test body against both:
 *
 * <pre>{@code
 * @ParameterizedTest
 * @MethodSource("ai.factory.storage.TestDatabases#both")
 * void storesThings(TestDatabases.Kind kind, @TempDir Path tempDir) {
 *     try (Database database = TestDatabases.open(kind, tempDir)) { … }
 * }
 * }</pre>
 *
 * <p>Without a reachable PostgreSQL the PostgreSQL case is skipped, unless
 * {@code FACTORY_TEST_REQUIRE_PG=true} (as in CI), which fails it instead.
 */
public final class TestDatabases {
    public static final String DEFAULT_PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";

    public enum Kind { H2, POSTGRESQL }

    private TestDatabases() {}

    /** Both kinds, named for the test report; for {@code @MethodSource("ai.factory.storage.TestDatabases#both")}. */
    public static Stream<Named<Kind>> both() {
        return Stream.of(Named.of("H2", Kind.H2), Named.of("PostgreSQL", Kind.POSTGRESQL));
    }

    /**
     * A migrated database of {@code kind}, empty apart from the schema. H2 lives in
     * {@code tempDir}; PostgreSQL gets a schema of its own, dropped when the database is closed.
     */
    public static Database open(Kind kind, Path tempDir) {
        return switch (kind) {
            case H2 -> Database.open(h2Config(tempDir));
            case POSTGRESQL -> {
                String schema = createSchema();
                try {
                    yield Database.open(postgresConfig(schema), () -> dropSchema(schema));
                }
                catch (RuntimeException e) {
                    dropSchema(schema);
                    throw e;
                }
            }
        };
    }

    /**
     * A migrated, closed database of {@code kind} that another process can open with {@link Scratch#config()}:
     * an H2 file in {@code tempDir} or a PostgreSQL schema of its own, dropped when the scratch is closed.
     */
    public static Scratch scratch(Kind kind, Path tempDir) {
        return switch (kind) {
            case H2 -> {
                DatabaseConfig config = h2Config(tempDir);
                Database.open(config).close();
                yield new Scratch(config, () -> {});
            }
            case POSTGRESQL -> {
                String schema = createSchema();
                DatabaseConfig config = postgresConfig(schema);
                try {
                    Database.open(config).close();
                } catch (RuntimeException e) {
                    dropSchema(schema);
                    throw e;
                }
                yield new Scratch(config, () -> dropSchema(schema));
            }
        };
    }

    /** A database left for others to open; see {@link #scratch}. */
    public record Scratch(DatabaseConfig config, Runnable drop) implements AutoCloseable {
        @Override
        public void close() {
            drop.run();
        }
    }

    /** The config of the H2 database {@link #open} uses in {@code tempDir}, to reopen it. */
    public static DatabaseConfig h2Config(Path tempDir) {
        return DatabaseConfig.h2(tempDir.resolve("db").resolve("factory"));
    }

    /** The PostgreSQL server's base config, or a skipped (or, when required, failed) test if it is unreachable. */
    public static DatabaseConfig postgresConfig() {
        return PostgresServer.INSTANCE.config().orElseGet(() -> {
            String message = "PostgreSQL at %s is unreachable (%s); start it or set FACTORY_TEST_PG_URL"
                    .formatted(pgUrl(), PostgresServer.INSTANCE.failure());
            if (Boolean.parseBoolean(System.getenv("FACTORY_TEST_REQUIRE_PG"))) {
                return fail(message + "; FACTORY_TEST_REQUIRE_PG=true, so this fails instead of skipping");
            }
            return Assumptions.abort(message + "; skipping the PostgreSQL case");
        });
    }

    static DatabaseConfig postgresConfig(String schema) {
        DatabaseConfig base = postgresConfig();
        String separator = base.url().contains("?") ? "&" : "?";
        return new DatabaseConfig(base.url() + separator + "currentSchema=" + schema, base.user(), base.password(), 4, base.connectionTimeout());
    }

    static String createSchema() {
        String schema = "factory_test_" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        execute(postgresConfig(), "CREATE SCHEMA " + schema);
        return schema;
    }

    static void dropSchema(String schema) {
        execute(postgresConfig(), "DROP SCHEMA " + schema + " CASCADE");
    }

    private static void execute(DatabaseConfig config, String sql) {
        try (Connection connection = DriverManager.getConnection(config.url(), properties(config.user(), config.password()));
                Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
        catch (SQLException e) {
            throw new IllegalStateException("cannot run '%s' on %s: %s".formatted(sql, config.redactedUrl(), e.getMessage()), e);
        }
    }

    private static String pgUrl() {
        return Optional.ofNullable(System.getenv("FACTORY_TEST_PG_URL")).filter(url -> !url.isBlank()).orElse(DEFAULT_PG_URL);
    }

    private static Properties properties(String user, String password) {
        Properties properties = new Properties();
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("loginTimeout", "5");
        return properties;
    }

    /** Finds, once per test JVM, a user the server accepts. */
    private enum PostgresServer {
        INSTANCE;

        private final DatabaseConfig config;
        private final String failure;

        PostgresServer() {
            String url = pgUrl();
            String password = System.getenv("FACTORY_TEST_PG_PASSWORD");
            List<String> users = new ArrayList<>();
            Optional.ofNullable(System.getenv("FACTORY_TEST_PG_USER")).ifPresentOrElse(users::add, () -> {
                users.add("postgres");
                users.add(System.getProperty("user.name"));
            });
            DatabaseConfig found = null;
            List<String> failures = new ArrayList<>();
            for (String user : users) {
                try (Connection _ = DriverManager.getConnection(url, properties(user, password))) {
                    found = new DatabaseConfig(url, user, password);
                    break;
                }
                catch (SQLException e) {
                    failures.add("as %s: %s".formatted(user, e.getMessage()));
                }
            }
            this.config = found;
            this.failure = String.join("; ", failures);
        }

        Optional<DatabaseConfig> config() {
            return Optional.ofNullable(config);
        }

        String failure() {
            return failure;
        }
    }
}
