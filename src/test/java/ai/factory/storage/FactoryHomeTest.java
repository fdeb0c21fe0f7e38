package ai.factory.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The factory's home and the files in it are their owner's alone, whatever the umask made of them. */
class FactoryHomeTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    private static void chmod(Path p, String mode) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    @Test
    void aNewHomeIsCreatedOwnerOnlyWithItsMissingParents() throws IOException {
        Path home = tmp.resolve("a").resolve("b").resolve("home");

        assertThat(FactoryHome.secure(home)).isEmpty();

        assertThat(mode(home)).isEqualTo("rwx------");
        assertThat(mode(tmp.resolve("a"))).isEqualTo("rwx------");
        assertThat(FactoryHome.secure(home)).as("a second start finds nothing to narrow").isEmpty();
    }

    @Test
    void aHomeOpenToOthersIsNarrowedWithEverythingUnderItAndSaysWhat() throws IOException {
        Path home = tmp.resolve("home");
        Files.createDirectories(home.resolve("db"));
        Files.writeString(home.resolve("db").resolve("factory.mv.db"), "data");
        Files.writeString(home.resolve("admin.key"), "secret");
        Files.writeString(home.resolve("tool.sh"), "#!/bin/sh");
        chmod(home, "rwxr-xr-x");
        chmod(home.resolve("db"), "rwxrwxrwx");
        chmod(home.resolve("db").resolve("factory.mv.db"), "rw-r--r--");
        chmod(home.resolve("admin.key"), "rw-------");
        chmod(home.resolve("tool.sh"), "rwxr-x---");
        Files.createSymbolicLink(home.resolve("elsewhere"), tmp);
        chmod(tmp, "rwxr-xr-x");

        var narrowed = FactoryHome.secure(home);

        assertThat(narrowed).containsExactlyInAnyOrder(home.toRealPath() + " (0755)",
                home.toRealPath().resolve("db") + " (0777)",
                home.toRealPath().resolve("db").resolve("factory.mv.db") + " (0644)",
                home.toRealPath().resolve("tool.sh") + " (0750)");
        assertThat(mode(home)).isEqualTo("rwx------");
        assertThat(mode(home.resolve("db"))).isEqualTo("rwx------");
        assertThat(mode(home.resolve("db").resolve("factory.mv.db"))).isEqualTo("rw-------");
        assertThat(mode(home.resolve("admin.key"))).isEqualTo("rw-------");
        assertThat(mode(home.resolve("tool.sh"))).as("the owner keeps its own bits").isEqualTo("rwx------");
        assertThat(mode(tmp)).as("a link is not followed out of the home").isEqualTo("rwxr-xr-x");
    }

    @Test
    void aHomeThatIsAFileIsRefused() throws IOException {
        Path file = Files.writeString(tmp.resolve("home"), "");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FactoryHome.secure(file))
                .hasMessageContaining("is not a folder");
    }

    @Test
    void privateFilesAreWrittenOwnerOnlyWhateverWasThere() throws IOException {
        Path file = tmp.resolve("server.json");
        Files.writeString(file, "old");
        chmod(file, "rw-r--r--");

        PrivateFiles.write(file, "new");

        assertThat(Files.readString(file)).isEqualTo("new");
        assertThat(mode(file)).isEqualTo("rw-------");
        try (var left = Files.list(tmp)) {
            assertThat(left).containsExactly(file);
        }
    }
}
