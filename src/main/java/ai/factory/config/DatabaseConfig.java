package ai.factory.config;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.jspecify.annotations.Nullable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * Where the metadata database lives and how to pool connections to it.
 *
 * <p>Only H2 ({@code jdbc:h2:…}, the embedded single-node default) and PostgreSQL
 * ({@code jdbc:postgresql://…}, for many nodes) are supported: the migrations are written and
 * tested for those two. The password is a secret: {@link #toString()} never prints it, and
 * {@link #redactedUrl()} hides one embedded in the URL.
 *
 * @param url JDBC URL, {@code jdbc:h2:} or {@code jdbc:postgresql:}
 * @param user database user, or null to let the driver decide (URL parameter, OS user)
 * @param password database password, or null
 * @param maxPoolSize the most connections the pool holds open
 * @param connectionTimeout how long a caller waits for a connection before failing
 */
public record DatabaseConfig(String url, @Nullable String user, @Nullable String password, int maxPoolSize,
                             Duration connectionTimeout) {
    public static final int DEFAULT_MAX_POOL_SIZE = 10;
    public static final Duration DEFAULT_CONNECTION_TIMEOUT = Duration.ofSeconds(10);
    /** HikariCP refuses anything shorter. */
    public static final Duration MIN_CONNECTION_TIMEOUT = Duration.ofMillis(250);

    private static final Pattern PASSWORD_IN_URL = Pattern.compile("(?i)(password=)[^&;]*");

    public DatabaseConfig {
        requireNonNull(url, "url is null");
        requireNonNull(connectionTimeout, "connectionTimeout is null");
        if (!url.startsWith("jdbc:h2:") && !url.startsWith("jdbc:postgresql:")) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "unsupported database URL '%s'; use jdbc:h2:file:… or jdbc:postgresql://…"
                    .formatted(redact(url)));
        }
        if (maxPoolSize < 1) {
            throw new IllegalArgumentException("maxPoolSize must be at least 1, got " + maxPoolSize);
        }
        if (connectionTimeout.compareTo(MIN_CONNECTION_TIMEOUT) < 0) {
            throw new IllegalArgumentException("connectionTimeout must be at least %s, got %s".formatted(MIN_CONNECTION_TIMEOUT, connectionTimeout));
        }
    }

    /** A config with the default pool size and connection timeout. */
    public DatabaseConfig(String url, String user, @Nullable String password) {
        this(url, user, password, DEFAULT_MAX_POOL_SIZE, DEFAULT_CONNECTION_TIMEOUT);
    }

    /**
     * The embedded default: an H2 database in {@code file} (H2 adds the {@code .mv.db} suffix).
     * The factory closes the database itself on shutdown, so H2's own shutdown hook is turned off;
     * otherwise it could close the file under requests still finishing. {@code WRITE_DELAY=0} makes H2 store each
     * commit as it happens rather than up to 500 ms later from a background thread: with the default, a process
     * stopped right after a commit lost it. Even so, a process killed with SIGKILL while committing fast may lose its
     * last commits on reopening (AuditCrashTest; docs/audit.md); PostgreSQL keeps every commit that returned.
     */
    public static DatabaseConfig h2(Path file) {
        requireNonNull(file, "file is null");
        // H2 refuses paths that are implicitly relative to the working directory.
        String path = file.toAbsolutePath().normalize().toString();
        if (path.contains(";")) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "database path '%s' contains ';', which H2 reads as a URL option separator".formatted(path));
        }
        return new DatabaseConfig("jdbc:h2:file:" + path + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0", "sa", null);
    }

    public DatabaseConfig withMaxPoolSize(int maxPoolSize) {
        return new DatabaseConfig(url, user, password, maxPoolSize, connectionTimeout);
    }

    public DatabaseConfig withConnectionTimeout(Duration connectionTimeout) {
        return new DatabaseConfig(url, user, password, maxPoolSize, connectionTimeout);
    }

    public DatabaseConfig withPassword(String password) {
        return new DatabaseConfig(url, user, password, maxPoolSize, connectionTimeout);
    }

    /**
     * The file of an embedded H2 database, without H2's {@code .mv.db} suffix ({@code jdbc:h2:file:/x/factory} or
     * {@code jdbc:h2:/x/factory}); empty for PostgreSQL, in-memory and server URLs.
     */
    public Optional<Path> h2File() {
        if (!url.startsWith("jdbc:h2:")) {
            return Optional.empty();
        }
        String rest = url.substring("jdbc:h2:".length());
        if (rest.startsWith("file:")) {
            rest = rest.substring("file:".length());
        } else if (!rest.startsWith("/")) {
            return Optional.empty();
        }
        String file = rest.split(";", 2)[0];
        return file.isEmpty() || file.startsWith("~") ? Optional.empty() : Optional.of(Path.of(file).toAbsolutePath().normalize());
    }

    /** {@code "h2"} or {@code "postgresql"}. */
    public String vendor() {
        return url.startsWith("jdbc:h2:") ? "h2" : "postgresql";
    }

    /** The URL with any {@code password=} parameter masked, safe for messages and logs. */
    public String redactedUrl() {
        return redact(url);
    }

    @Override
    public String toString() {
        return "DatabaseConfig[url=%s, user=%s, password=%s, maxPoolSize=%d, connectionTimeout=%s]"
                .formatted(redactedUrl(), user, password == null ? null : "***", maxPoolSize, connectionTimeout);
    }

    private static String redact(String url) {
        return PASSWORD_IN_URL.matcher(url).replaceAll("$1***");
    }
}
