package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.config.DatabaseConfig;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded database's password, against real H2 files: generated and kept owner-only, set on a database from
 * before passwords, and required afterwards by H2 itself (its JDBC driver, as H2's own shell would open it).
 */
class H2PasswordTest {
    @TempDir
    Path home;

    private Path passwordFile() {
        return home.resolve("db.password");
    }

    private DatabaseConfig config() {
        return DatabaseConfig.h2(home.resolve("db").resolve("factory"));
    }

    /** Opens the database as anyone holding a copy of its file would: H2's driver, the given password. */
    private void open(String password) throws SQLException {
        try (Connection c = DriverManager.getConnection(config().url(), config().user(), password)) {
            assertThat(c.isValid(2)).isTrue();
        }
    }

    private static int errorCode(ThrowingOpen open) {
        try {
            open.run();
            return 0;
        } catch (SQLException e) {
            return e.getErrorCode();
        }
    }

    private interface ThrowingOpen {
        void run() throws SQLException;
    }

    @Test
    void aNewDatabaseGetsAGeneratedPasswordKeptOwnerOnly() throws Exception {
        DatabaseConfig secured = H2Password.secure(config(), passwordFile());
        try (Database db = Database.open(secured)) {
            assertThat(db.isHealthy()).isTrue();
        }
        String password = Files.readString(passwordFile()).strip();
        assertThat(password).hasSizeGreaterThanOrEqualTo(40).isEqualTo(secured.password());
        assertThat(secured.toString()).doesNotContain(password);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("db")))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("db").resolve("factory.mv.db"))))
                .isEqualTo("rw-------");

        assertThat(errorCode(() -> open(""))).isEqualTo(org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD);
        assertThat(errorCode(() -> open("guess"))).isEqualTo(org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD);
        open(password);
        // The next start reads the same password and opens the database with it.
        assertThat(H2Password.secure(config(), passwordFile()).password()).isEqualTo(password);
    }

    @Test
    void aDatabaseFromBeforePasswordsGetsOneAtTheFirstStart() throws Exception {
        try (Database old = Database.open(config())) {
            old.jdbi().useHandle(h -> h.execute("INSERT INTO principals (id, name, project, role, created_at) "
                    + "VALUES ('p-old', 'old', 'default', 'admin', CURRENT_TIMESTAMP)"));
        }
        open("");

        DatabaseConfig secured = H2Password.secure(config(), passwordFile());

        assertThat(errorCode(() -> open(""))).isEqualTo(org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD);
        open(Files.readString(passwordFile()).strip());
        try (Database db = Database.open(secured)) {
            String name = db.jdbi().withHandle(h -> h.createQuery("SELECT name FROM principals WHERE id = 'p-old'")
                    .mapTo(String.class).one());
            assertThat(name).isEqualTo("old");
        }
    }

    @Test
    void aStartInterruptedAfterWritingThePasswordSetsItTheNextTime() throws Exception {
        try (Database old = Database.open(config())) {
            assertThat(old.isHealthy()).isTrue();
        }
        Files.writeString(passwordFile(), "written-before-the-crash\n");

        H2Password.secure(config(), passwordFile());

        assertThat(errorCode(() -> open(""))).isEqualTo(org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD);
        open("written-before-the-crash");
    }

    @Test
    void aDatabaseWithAnotherPasswordIsRefusedNamingTheFile() throws Exception {
        H2Password.secure(config(), passwordFile());
        Files.writeString(passwordFile(), "not-the-one\n");

        assertThatThrownBy(() -> H2Password.secure(config(), passwordFile()))
                .isInstanceOfSatisfying(FactoryException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                    assertThat(e.getMessage()).contains(passwordFile().toString()).doesNotContain("not-the-one");
                });
        Files.writeString(passwordFile(), "");
        assertThatThrownBy(() -> H2Password.secure(config(), passwordFile())).hasMessageContaining("is empty");
    }

    @Test
    void aConfiguredPasswordAndPostgresqlAreLeftAsConfigured() {
        DatabaseConfig configured = config().withPassword("the-operator's");
        assertThat(H2Password.secure(configured, passwordFile())).isSameAs(configured);
        DatabaseConfig postgres = new DatabaseConfig("jdbc:postgresql://db.example:5432/factory", "factory", null);
        assertThat(H2Password.secure(postgres, passwordFile())).isSameAs(postgres);
        assertThat(H2Password.forReading(postgres, passwordFile())).isSameAs(postgres);
        assertThat(passwordFile()).doesNotExist();
    }

    @Test
    void offlineToolsReadThePasswordAndChangeNothing() throws Exception {
        try (Database old = Database.open(config())) {
            assertThat(old.isHealthy()).isTrue();
        }
        assertThat(H2Password.forReading(config(), passwordFile()).password()).isNull();
        assertThat(passwordFile()).doesNotExist();
        open("");

        H2Password.secure(config(), passwordFile());
        try (Database db = Database.open(H2Password.forReading(config(), passwordFile()))) {
            assertThat(db.isHealthy()).isTrue();
        }
    }

    @Test
    void readsTheH2FileFromItsUrl() {
        assertThat(new DatabaseConfig("jdbc:h2:file:/srv/f/db/factory;WRITE_DELAY=0", null, null).h2File())
                .contains(Path.of("/srv/f/db/factory"));
        assertThat(new DatabaseConfig("jdbc:h2:/srv/f/db/factory", null, null).h2File())
                .contains(Path.of("/srv/f/db/factory"));
        assertThat(new DatabaseConfig("jdbc:h2:mem:test", null, null).h2File()).isEmpty();
        assertThat(new DatabaseConfig("jdbc:h2:tcp://host/db", null, null).h2File()).isEmpty();
        assertThat(new DatabaseConfig("jdbc:postgresql://h/db", null, null).h2File()).isEmpty();
    }
}
