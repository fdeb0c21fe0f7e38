package ai.factory.security.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-line anchor: what {@code factory audit anchor} prints and {@code verify --anchor} reads back. */
class AuditAnchorTest {
    @TempDir
    Path dir;

    private static AuditAnchor anchor() {
        AuditKey key = AuditKey.generate();
        return AuditAnchor.of(key.sign(AuditDigest.unsigned(1, 3, Instant.EPOCH, Instant.EPOCH, AuditHashing.GENESIS,
                Instant.EPOCH, key.keyId(), "", new AuditDigest.Cadence(5, Duration.ofMinutes(5)), false,
                "0".repeat(48))));
    }

    @Test
    void readsBackWhatItPrints() throws Exception {
        AuditAnchor a = anchor();
        assertThat(a.text()).startsWith("fa1:3:").doesNotContain("\n");
        assertThat(AuditAnchor.parse(a.text())).isEqualTo(a);
        assertThat(AuditAnchor.parse("  " + a.text() + "\n")).isEqualTo(a);
        AuditAnchor b = anchor();
        Files.writeString(dir.resolve("kept"), "# taken on Monday\n" + a.text() + "\n\n" + b.text() + "\n");
        assertThat(AuditAnchor.read(dir.resolve("kept"))).containsExactly(a, b);
    }

    @Test
    void refusesWhatIsNotAnAnchorAndSaysWhere() throws Exception {
        String good = anchor().text();
        String[] parts = good.split(":");
        assertThatThrownBy(() -> AuditAnchor.parse("fa2:" + good.substring(4))).hasMessageContaining("not an audit anchor");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], parts[1], parts[2], parts[3])))
                .hasMessageContaining("not an audit anchor");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], "three", parts[2], parts[3], parts[4])))
                .hasMessageContaining("whole number");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], "0", parts[2], parts[3], parts[4])))
                .hasMessageContaining("1 or more");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], parts[1], parts[2].toUpperCase(),
                parts[3], parts[4]))).hasMessageContaining("64 lower-case hex digits");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], parts[1], parts[2], "xyz", parts[4])))
                .hasMessageContaining("key id");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], parts[1], parts[2], parts[3], "c2ln")))
                .hasMessageContaining("64 bytes of Ed25519");
        assertThatThrownBy(() -> AuditAnchor.parse(String.join(":", parts[0], parts[1], parts[2], parts[3], "!!")))
                .hasMessageContaining("64 bytes of Ed25519");

        Files.writeString(dir.resolve("bad"), "# kept\n" + good + "\nfa1:nonsense\n");
        assertThatThrownBy(() -> AuditAnchor.read(dir.resolve("bad"))).hasMessageContaining("line 3");
        Files.writeString(dir.resolve("empty"), "# nothing yet\n");
        assertThatThrownBy(() -> AuditAnchor.read(dir.resolve("empty"))).hasMessageContaining("holds no anchor");
        assertThatThrownBy(() -> AuditAnchor.read(dir.resolve("missing"))).hasMessageContaining("cannot read");
    }
}
