package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import ai.factory.config.DatabaseConfig;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;

/**
 * The password of the embedded H2 database. H2 keeps its users in the database file, so a database without a
 * password opens for anyone holding a copy of {@code db/} (a backup, an archive left lying about); with one, the copy
 * is of no use without the password file as well.
 *
 * <p>Unless {@code database.password} is set, the factory generates a password at its first start and keeps it in
 * {@code $FACTORY_HOME/db.password} (0600). A database made before that, without a password, gets it at the first
 * start after the upgrade (H2's {@code SET PASSWORD}, as the database's own admin user): the file is written first
 * and the password set second, so a start interrupted in between finds the database still open without one and sets
 * it then. PostgreSQL, and an H2 database whose password the configuration names, are left as configured.
 */
public final class H2Password {
    private static final Logger LOG = LoggerFactory.getLogger(H2Password.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private H2Password() {}

    /**
     * For the server: {@code config} with the embedded database's password, generated and set on the database
     * where there was none.
     *
     * @throws FactoryException UNAVAILABLE when the database opens neither with the password in the file nor
     *     without one, or cannot be opened at all
     */
    public static DatabaseConfig secure(DatabaseConfig config, Path passwordFile) {
        requireNonNull(config, "config is null");
        requireNonNull(passwordFile, "passwordFile is null");
        if (config.h2File().isEmpty() || config.password() != null) {
            return config;
        }
        Path folder = requireNonNull(config.h2File().get().getParent(), "no parent folder");
        try {
            // Before H2 makes it with the process umask.
            PrivateFiles.createDirectories(folder);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot create the database folder " + folder + ": " + e, e);
        }
        String password = Files.exists(passwordFile) ? read(passwordFile) : create(passwordFile);
        DatabaseConfig secured = config.withPassword(password);
        try (Connection c = connect(secured)) {
            return secured;
        } catch (SQLException e) {
            if (e.getErrorCode() != org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD) {
                throw unreachable(config, e);
            }
        }
        // Not that password: an existing database from before passwords, which takes none.
        try (Connection c = connect(config); Statement s = c.createStatement()) {
            s.execute("SET PASSWORD '" + password.replace("'", "''") + "'");
        } catch (SQLException e) {
            if (e.getErrorCode() == org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, ("the database at %s opens neither with the "
                        + "password in %s nor without one; put its password in that file (or in database.password)")
                        .formatted(config.redactedUrl(), passwordFile), e);
            }
            throw unreachable(config, e);
        }
        LOG.warn("the database at {} had no password: it has one now, kept in {} (keep that file with backups of the "
                + "database)", config.redactedUrl(), passwordFile);
        return secured;
    }

    /**
     * For tools that open the database of a stopped factory (offline audit verification): {@code config} with the
     * password from the file, when the configuration names none and the file is there; never changes anything.
     */
    public static DatabaseConfig forReading(DatabaseConfig config, Path passwordFile) {
        requireNonNull(config, "config is null");
        requireNonNull(passwordFile, "passwordFile is null");
        if (config.h2File().isEmpty() || config.password() != null || !Files.exists(passwordFile)) {
            return config;
        }
        return config.withPassword(read(passwordFile));
    }

    private static String create(Path file) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        try {
            PrivateFiles.createDirectories(requireNonNull(file.toAbsolutePath().getParent(), "no parent folder"));
            PrivateFiles.write(file, password + "\n");
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot write the database password to " + file + ": " + e, e);
        }
        LOG.info("generated the embedded database's password in {}", file);
        return password;
    }

    private static String read(Path file) {
        String password;
        try {
            password = Files.readString(file).strip();
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot read the database password from " + file + ": " + e, e);
        }
        if (password.isEmpty()) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "the database password file " + file + " is empty");
        }
        return password;
    }

    private static Connection connect(DatabaseConfig config) throws SQLException {
        return DriverManager.getConnection(config.url(), config.user(), config.password() == null ? "" : config.password());
    }

    private static FactoryException unreachable(DatabaseConfig config, SQLException e) {
        return new FactoryException(ErrorCode.UNAVAILABLE, "cannot connect to the database at %s: %s"
                .formatted(config.redactedUrl(), e.getMessage()), e);
    }
}
