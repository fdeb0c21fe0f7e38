package ai.factory.storage;

import ai.factory.config.DatabaseConfig;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.util.Objects.requireNonNull;

/**
 * The metadata database: a connection pool over H2 or PostgreSQL, migrated to the newest schema
 * when opened.
 *
 * <p>Every metadata change should be one transaction ({@code jdbi().inTransaction(…)}).
 * Timestamps are {@code TIMESTAMP WITH TIME ZONE} with microsecond precision on both vendors:
 * truncate an {@link java.time.Instant} to micros before storing it if it is compared after a
 * round trip.
 *
 * <p>Closing the pool closes every connection; H2 closes its file when its last connection
 * closes, so after {@link #close()} the same file can be opened again, by this JVM or another.
 */
public final class Database implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);
    private static final int VALIDATION_TIMEOUT_SECONDS = 2;

    private final DatabaseConfig config;
    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final Runnable afterClose;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Database(DatabaseConfig config, HikariDataSource dataSource, Runnable afterClose) {
        this.config = requireNonNull(config, "config is null");
        this.dataSource = requireNonNull(dataSource, "dataSource is null");
        this.afterClose = requireNonNull(afterClose, "afterClose is null");
        this.jdbi = Jdbi.create(dataSource);
    }

    /**
     * Connects and applies any pending migrations from {@code classpath:db/migration}.
     *
     * @throws FactoryException {@link ErrorCode#UNAVAILABLE} if the database can't be reached,
     *         {@link ErrorCode#INTERNAL} if a migration fails
     */
    public static Database open(DatabaseConfig config) {
        return open(config, () -> {});
    }

    /** As {@link #open(DatabaseConfig)}, running {@code afterClose} once the pool is closed (test schemas use it to drop themselves). */
    static Database open(DatabaseConfig config, Runnable afterClose) {
        requireNonNull(config, "config is null");
        requireNonNull(afterClose, "afterClose is null");
        config.h2File().ifPresent(Database::createFolder);
        HikariDataSource dataSource = connect(config);
        try {
            migrate(config, dataSource);
            config.h2File().ifPresent(Database::narrowFiles);
        }
        catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        LOG.info("database ready: {}", config.redactedUrl());
        return new Database(config, dataSource, afterClose);
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    /** {@code "h2"} or {@code "postgresql"}. */
    public String vendor() {
        return config.vendor();
    }

    /**
     * How long what this process read may be served from memory ({@link ReadCache}): until this process changes it
     * on an embedded H2 file, which no other process opens; {@link ReadCache#SHARED_MAX_AGE} on a database that other
     * nodes may share (PostgreSQL, an H2 server or {@code AUTO_SERVER}), whose changes reach this node within it.
     */
    public Duration readCacheMaxAge() {
        boolean onlyThisProcess = config.h2File().isPresent()
                && !config.url().toUpperCase(Locale.ROOT).contains("AUTO_SERVER=TRUE");
        return onlyThisProcess ? ReadCache.UNTIL_INVALIDATED : ReadCache.SHARED_MAX_AGE;
    }

    /**
     * Whether a pooled connection answers, for the readiness probe. Returns within the
     * connection timeout; false once closed.
     */
    public boolean isHealthy() {
        if (closed.get()) {
            return false;
        }
        try (Connection connection = dataSource.getConnection()) {
            return connection.isValid(VALIDATION_TIMEOUT_SECONDS);
        }
        catch (SQLException e) {
            LOG.warn("database health check failed for {}: {}", config.redactedUrl(), e.getMessage());
            return false;
        }
    }

    /** Closes the pool and with it, for H2, the database file. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            dataSource.close();
        }
        finally {
            afterClose.run();
        }
    }

    /**
     * H2 creates its folder and files with the process umask (often readable by everyone); the folder is made here
     * first, owner-only, so whatever H2 writes into it later (a trace file, temporary files) is out of others' reach.
     */
    private static void createFolder(Path file) {
        try {
            PrivateFiles.createDirectories(requireNonNull(file.getParent(), "no parent folder"));
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot create the database folder %s: %s"
                    .formatted(file.getParent(), e), e);
        }
    }

    /** The files H2 made for this database ({@code NAME.mv.db}, {@code NAME.trace.db}, …), narrowed to 0600. */
    private static void narrowFiles(Path file) {
        String prefix = file.getFileName() + ".";
        try (DirectoryStream<Path> files = Files.newDirectoryStream(file.getParent(),
                f -> f.getFileName().toString().startsWith(prefix) && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))) {
            for (Path f : files) {
                PrivateFiles.narrow(f);
            }
        }
        catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot make the database files %s* private to their owner: %s"
                    .formatted(file, e), e);
        }
    }

    private static HikariDataSource connect(DatabaseConfig config) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("factory-db");
        hikari.setJdbcUrl(config.url());
        hikari.setUsername(config.user());
        hikari.setPassword(config.password());
        hikari.setMaximumPoolSize(config.maxPoolSize());
        hikari.setConnectionTimeout(config.connectionTimeout().toMillis());
        // Try one connection while opening, so an unreachable database fails startup with a clear
        // message instead of failing the first request.
        hikari.setInitializationFailTimeout(1);
        try {
            return new HikariDataSource(hikari);
        }
        catch (PoolInitializationException e) {
            Throwable reason = e.getCause() != null ? e.getCause() : e;
            throw new FactoryException(ErrorCode.UNAVAILABLE,
                    "cannot connect to the database at %s: %s".formatted(config.redactedUrl(), reason.getMessage()), e);
        }
    }

    private static void migrate(DatabaseConfig config, HikariDataSource dataSource) {
        try {
            Flyway.configure(Database.class.getClassLoader())
                    .dataSource(dataSource)
                    .locations("classpath:db/migration")
                    // An empty or missing migration folder means a broken build, not an empty schema.
                    .failOnMissingLocations(true)
                    .load()
                    .migrate();
        }
        catch (FlywayException e) {
            throw new FactoryException(ErrorCode.INTERNAL,
                    "cannot migrate the database at %s: %s".formatted(config.redactedUrl(), e.getMessage()), e);
        }
    }
}
