package ai.factory.storage;

import ai.factory.config.DatabaseConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * A migrated, empty database for a benchmark, removed again when it is closed: an H2 file in a temporary folder, or a
 * schema of its own in the PostgreSQL the tests use, at {@code FACTORY_TEST_PG_URL} (default
 * {@value #DEFAULT_PG_URL}) as user {@code FACTORY_TEST_PG_USER} (else {@code postgres}, else the OS user) with
 * password {@code FACTORY_TEST_PG_PASSWORD}.
 */
public final class ScratchDatabase {
    public static final String DEFAULT_PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";

    public enum Kind { H2, POSTGRESQL }

    private ScratchDatabase() {}

    public static Database open(Kind kind) throws IOException {
        return switch (kind) {
            case H2 -> {
                Path dir = Files.createTempDirectory("factory-db-bench");
                yield Database.open(DatabaseConfig.h2(dir.resolve("db").resolve("factory")), () -> deleteTree(dir));
            }
            case POSTGRESQL -> {
                DatabaseConfig server = postgres();
                String schema = "factory_bench_" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
                execute(server, "CREATE SCHEMA " + schema);
                String separator = server.url().contains("?") ? "&" : "?";
                DatabaseConfig config = new DatabaseConfig(server.url() + separator + "currentSchema=" + schema,
                        server.user(), server.password(), 4, server.connectionTimeout());
                try {
                    yield Database.open(config, () -> execute(server, "DROP SCHEMA " + schema + " CASCADE"));
                } catch (RuntimeException e) {
                    execute(server, "DROP SCHEMA " + schema + " CASCADE");
                    throw e;
                }
            }
        };
    }

    /** The server's base config, as the first user it accepts; fails saying how to point at one when none does. */
    private static DatabaseConfig postgres() {
        String url = Optional.ofNullable(System.getenv("FACTORY_TEST_PG_URL")).filter(u -> !u.isBlank()).orElse(DEFAULT_PG_URL);
        String password = System.getenv("FACTORY_TEST_PG_PASSWORD");
        List<String> users = Optional.ofNullable(System.getenv("FACTORY_TEST_PG_USER"))
                .map(List::of).orElse(List.of("postgres", System.getProperty("user.name")));
        List<String> failures = new ArrayList<>();
        for (String user : users) {
            try (Connection _ = DriverManager.getConnection(url, properties(user, password))) {
                return new DatabaseConfig(url, user, password);
            } catch (SQLException e) {
                failures.add("as %s: %s".formatted(user, e.getMessage()));
            }
        }
        throw new IllegalStateException("PostgreSQL at %s is unreachable (%s); start it, set FACTORY_TEST_PG_URL, or run with -p database=H2"
                .formatted(url, String.join("; ", failures)));
    }

    private static void execute(DatabaseConfig config, String sql) {
        try (Connection connection = DriverManager.getConnection(config.url(), properties(config.user(), config.password()));
                Statement statement = connection.createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '%s' on %s: %s".formatted(sql, config.redactedUrl(), e.getMessage()), e);
        }
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
        return properties;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
