package ai.factory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.storage.Database;
import ai.factory.config.DatabaseConfig;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running factory's home is its owner's alone: every folder 0700, every file without a bit for group or others
 * (the secrets exactly 0600), the database's own files included, and the database opens only with the password kept
 * in the home. A home from before, made with a umask of 022 and holding a database without a password, is narrowed
 * and locked at its first start.
 */
@ServerTest
class HomeModesTest {
    private static final List<String> SECRETS = List.of("admin.key", "db.password", "master.p12",
            "master.p12.password", "audit.key", "run/server.json", "db/factory.mv.db");

    @TempDir
    Path tmp;

    @Test
    void aNewHomeIsOwnerOnlyThroughout() throws Exception {
        Path home = tmp.resolve("new-home");
        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            HttpResponse<String> imported = factory.post("/api/v1/models/acme/tiny/versions", factory.adminKey(),
                    "{\"path\": \"" + TestModels.tinyLlama().toAbsolutePath() + "\"}");
            assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
            awaitEmbeddingModel(factory);

            assertThat(openToOthers(home)).isEmpty();
            for (String secret : SECRETS) {
                assertThat(mode(home.resolve(secret))).as(secret).isEqualTo("rw-------");
            }
            assertThat(home.resolve("blobs").resolve("keyed")).isDirectory();
        }
        assertThat(openToOthers(home)).isEmpty();
        assertPasswordIsNeeded(home);
    }

    @Test
    void theGeneratedTlsMaterialIsOwnerOnlyAndARestartFindsNothingToNarrow() throws Exception {
        Path home = tmp.resolve("tls-home");
        java.util.Map<ai.factory.config.Setting, String> tls = java.util.Map.of(ai.factory.config.Setting.TLS_ENABLED, "true");
        try (TestFactory factory = TestFactory.start(home, TestFactory.withBuiltin(tls))) {
            assertThat(factory.url()).startsWith("https://");
            assertThat(openToOthers(home)).isEmpty();
            for (String file : List.of("ca.pem", "ca.key", "server.pem", "server.key")) {
                assertThat(mode(home.resolve("tls").resolve(file))).as(file).isEqualTo("rw-------");
            }
        }
        assertThat(ai.factory.storage.FactoryHome.secure(home)).as("what the factory wrote is private already").isEmpty();
    }

    @Test
    void aHomeFromBeforeIsNarrowedAndItsDatabaseGetsAPassword() throws Exception {
        Path home = tmp.resolve("old-home");
        Files.createDirectories(home);
        // As an earlier release made it with the default settings: no user name, no password.
        try (Database old = Database.open(new DatabaseConfig("jdbc:h2:file:" + home.resolve("db").resolve("factory"),
                null, null))) {
            assertThat(old.isHealthy()).isTrue();
        }
        Files.writeString(home.resolve("factory.yaml"), "server:\n  shutdownGrace: 5s\n");
        // What a umask of 022 made of it, and an operator's chmod of the database folder.
        chmod(home, "rwxr-xr-x");
        chmod(home.resolve("db"), "rwxr-xr-x");
        chmod(home.resolve("db").resolve("factory.mv.db"), "rw-r--r--");
        chmod(home.resolve("factory.yaml"), "rw-r--r--");
        assertThat(openToOthers(home)).hasSizeGreaterThanOrEqualTo(4);
        open(home, "");

        try (TestFactory factory = TestFactory.start(home, TestFactory.BUILTIN)) {
            awaitEmbeddingModel(factory);
            assertThat(openToOthers(home)).isEmpty();
            assertThat(mode(home)).isEqualTo("rwx------");
            assertThat(mode(home.resolve("factory.yaml"))).isEqualTo("rw-------");
            assertThat(mode(home.resolve("db.password"))).isEqualTo("rw-------");
        }
        assertPasswordIsNeeded(home);
        // And the next start opens it with the password it set.
        try (TestFactory again = TestFactory.start(home, TestFactory.BUILTIN)) {
            assertThat(again.get("/api/v1/models", again.adminKey()).statusCode()).isEqualTo(200);
        }
    }

    private static void awaitEmbeddingModel(TestFactory factory) {
        // The bundled embedding model unpacks a native library into the home's cache as it loads.
        await().atMost(Duration.ofMinutes(2)).until(() -> factory.get("/api/v1/deployments", factory.adminKey()).body()
                .matches("(?s).*\"builtin/all-minilm-l6-v2\".*\"state\"\\s*:\\s*\"ready\".*"));
    }

    /** The database opens with the password in the home, and not without it (as H2's own tools would open it). */
    private static void assertPasswordIsNeeded(Path home) throws Exception {
        try {
            open(home, "");
            throw new AssertionError("the database opened without a password");
        } catch (SQLException e) {
            assertThat(e.getErrorCode()).isEqualTo(org.h2.api.ErrorCode.WRONG_USER_OR_PASSWORD);
        }
        open(home, Files.readString(home.resolve("db.password")).strip());
    }

    private static void open(Path home, String password) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + home.resolve("db").resolve("factory")
                + ";IFEXISTS=TRUE", "", password)) {
            assertThat(c.isValid(2)).isTrue();
        }
    }

    /** Every folder that is not exactly 0700 and every file with a bit for group or others, with its mode. */
    private static List<String> openToOthers(Path home) throws IOException {
        List<String> open = new ArrayList<>();
        try (Stream<Path> all = Files.walk(home)) {
            for (Path p : all.toList()) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
                boolean wide = Files.isDirectory(p) ? !PosixFilePermissions.toString(mode).equals("rwx------")
                        : !PosixFilePermissions.toString(mode).substring(3).equals("------");
                if (wide) {
                    open.add(home.relativize(p) + " " + PosixFilePermissions.toString(mode));
                }
            }
        }
        return open;
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static void chmod(Path p, String mode) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }
}
