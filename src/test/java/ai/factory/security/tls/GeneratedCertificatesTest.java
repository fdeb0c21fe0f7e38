package ai.factory.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import ai.factory.config.TlsFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeneratedCertificatesTest {
    static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
    static final Set<String> NAMES = Set.of("localhost", "127.0.0.1", "::1", "factory.example");

    @TempDir
    Path home;

    private GeneratedCertificates at(Instant instant) {
        return new GeneratedCertificates(TlsFiles.under(home), Clock.fixed(instant, ZoneOffset.UTC));
    }

    @Test
    void createsThePrivateSiteCaOnceAndIssuesAServerCertificateForTheNames() throws Exception {
        TlsFiles files = TlsFiles.under(home);
        GeneratedCertificates.Outcome first = at(NOW).loadOrCreate(NAMES);

        assertThat(first.issued()).isTrue();
        X509Certificate ca = SiteTrust.read(files.caCertificate()).getFirst();
        assertThat(first.newCaFingerprint()).contains(ServerIdentity.fingerprint(ca));
        assertThat(first.newCaFingerprint().orElseThrow()).matches("([0-9A-F]{2}:){31}[0-9A-F]{2}");
        assertThat(Files.getPosixFilePermissions(files.dir())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(Files.getPosixFilePermissions(files.caKey())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(files.key())).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        X509Certificate server = first.identity().certificate();
        server.verify(ca.getPublicKey());
        assertThat(first.identity().chain()).containsExactly(server, ca);
        assertThat(GeneratedCertificates.names(server))
                .containsExactlyInAnyOrder("localhost", "127.0.0.1", "0:0:0:0:0:0:0:1", "factory.example");
        assertThat(server.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(server.getBasicConstraints()).isEqualTo(-1);
        assertThat(ca.getBasicConstraints()).isZero();
        assertThat(ca.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(Duration.between(NOW, server.getNotAfter().toInstant())).isEqualTo(GeneratedCertificates.SERVER_VALIDITY);
        assertThat(Pem.privateKey(files.key(), "test")).isEqualTo(first.identity().key());

        GeneratedCertificates.Outcome again = at(NOW.plus(Duration.ofDays(1))).loadOrCreate(NAMES);
        assertThat(again.newCaFingerprint()).as("the CA is reported once, when created").isEmpty();
        assertThat(again.issued()).isFalse();
        assertThat(again.identity().chain()).isEqualTo(first.identity().chain());
    }

    @Test
    void issuesTheServerCertificateAgainWhenItsNamesChangeOrItNearsItsEndButKeepsTheCa() throws Exception {
        TlsFiles files = TlsFiles.under(home);
        at(NOW).loadOrCreate(NAMES);
        byte[] ca = Files.readAllBytes(files.caCertificate());

        GeneratedCertificates.Outcome renamed = at(NOW).loadOrCreate(Set.of("localhost", "10.0.0.7"));
        assertThat(renamed.issued()).isTrue();
        assertThat(GeneratedCertificates.names(renamed.identity().certificate())).containsExactlyInAnyOrder("localhost", "10.0.0.7");

        Instant nearItsEnd = renamed.identity().certificate().getNotAfter().toInstant().minus(Duration.ofDays(10));
        GeneratedCertificates.Outcome renewed = at(nearItsEnd).loadOrCreate(Set.of("localhost", "10.0.0.7"));
        assertThat(renewed.issued()).isTrue();
        assertThat(renewed.identity().certificate().getNotAfter().toInstant()).isAfter(nearItsEnd.plus(Duration.ofDays(300)));
        assertThat(renewed.newCaFingerprint()).isEmpty();
        assertThat(Files.readAllBytes(files.caCertificate())).isEqualTo(ca);

        Files.writeString(files.certificate(), "damaged");
        assertThat(at(nearItsEnd).loadOrCreate(Set.of("localhost", "10.0.0.7")).issued()).isTrue();
    }

    @Test
    void refusesToReplaceAHalfMissingOrMismatchedCa() throws Exception {
        TlsFiles files = TlsFiles.under(home);
        at(NOW).loadOrCreate(NAMES);
        String caKey = Files.readString(files.caKey());

        Files.delete(files.caKey());
        assertThatThrownBy(() -> at(NOW).loadOrCreate(NAMES)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("ca.pem without ca.key").hasMessageContaining("remove both");

        Files.writeString(files.caKey(), TestPki.otherEcKey());
        assertThatThrownBy(() -> at(NOW).loadOrCreate(NAMES)).isInstanceOf(FactoryException.class)
                .hasMessageContaining("is not the key of the site CA");

        Files.writeString(files.caKey(), caKey);
        assertThatThrownBy(() -> at(NOW.plus(Duration.ofDays(3700))).loadOrCreate(NAMES))
                .isInstanceOf(FactoryException.class).hasMessageContaining("expired");
    }

    @Test
    void namesAreTheLoopbackOnesTheBoundAddressTheHostNameAndTheSitesOwn() {
        assertThat(ServerTls.names("127.0.0.1", List.of(), Optional.of("vm")))
                .containsExactly("localhost", "127.0.0.1", "0:0:0:0:0:0:0:1", "vm");
        assertThat(ServerTls.names("0.0.0.0", List.of("Factory.Example.com", "10.1.2.3"), Optional.of("node7")))
                .containsExactly("localhost", "127.0.0.1", "0:0:0:0:0:0:0:1", "node7", "factory.example.com", "10.1.2.3");
        assertThat(ServerTls.names("[::]", List.of(), Optional.empty())).doesNotContain("::", "0:0:0:0:0:0:0:0");
        assertThat(ServerTls.names("192.168.1.20", List.of(), Optional.of("bad_name!")))
                .contains("192.168.1.20").doesNotContain("bad_name!");
        assertThat(ServerTls.names("fd00::5", List.of(), Optional.empty())).contains("fd00:0:0:0:0:0:0:5");
    }
}
