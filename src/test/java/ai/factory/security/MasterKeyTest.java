package ai.factory.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MasterKeyTest {
    @TempDir
    Path tempDir;

    @Test
    void createsAPrivateKeyFileOnceAndReusesIt() throws Exception {
        Path file = tempDir.resolve("master.key");
        MasterKey first = MasterKey.loadOrCreate(file);

        assertThat(Files.size(file)).isEqualTo(32);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        byte[] bytes = Files.readAllBytes(file);
        String sealed = first.seal("secret", "AKIA1");
        assertThat(MasterKey.loadOrCreate(file).open(sealed, "AKIA1")).isEqualTo("secret");
        assertThat(Files.readAllBytes(file)).isEqualTo(bytes);
    }

    @Test
    void sealedSecretOpensOnlyInItsContextUnderItsKey() {
        MasterKey key = MasterKey.loadOrCreate(tempDir.resolve("a.key"));
        String sealed = key.seal("secret", "AKIA1");

        assertThat(sealed).doesNotContain("secret");
        assertThat(key.seal("secret", "AKIA1")).isNotEqualTo(sealed);
        assertThatThrownBy(() -> key.open(sealed, "AKIA2")).hasMessageContaining("does not open");
        assertThatThrownBy(() -> MasterKey.loadOrCreate(tempDir.resolve("b.key")).open(sealed, "AKIA1"))
                .hasMessageContaining("does not open");
    }

    @Test
    void refusesADamagedKeyFile() throws Exception {
        Path file = tempDir.resolve("short.key");
        Files.write(file, new byte[7]);
        assertThatThrownBy(() -> MasterKey.loadOrCreate(file)).hasMessageContaining("damaged");
    }
}
