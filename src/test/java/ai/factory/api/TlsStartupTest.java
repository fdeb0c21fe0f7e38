package ai.factory.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ServerTest;
import ai.factory.app.Factory;
import ai.factory.FactoryException;
import ai.factory.TestFactory;
import ai.factory.config.ConfigLoader;
import ai.factory.config.FactoryConfig;
import ai.factory.config.Setting;
import ai.factory.config.TlsFiles;
import ai.factory.security.tls.ServerIdentity;
import ai.factory.security.tls.SiteTrust;
import ai.factory.security.tls.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a factory starts with TLS: the site's own certificate served as given; the generated site CA kept, and
 * reported, across restarts; and TLS settings that cannot work failing the start with the setting and file named,
 * before anything else opens.
 */
@ServerTest
class TlsStartupTest {
    @TempDir
    Path dir;

    private static HttpResponse<String> live(String url, List<Path> trusted) throws Exception {
        return HttpClient.newBuilder().sslContext(SiteTrust.context(trusted)).build().send(HttpRequest
                .newBuilder(URI.create(url + "/health/live")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheSitesOwnCertificateAndChain() throws Exception {
        TestPki pki = TestPki.create(dir.resolve("pki"));
        Path home = dir.resolve("home");
        try (TestFactory factory = TestFactory.start(home, Map.of(Setting.TLS_ENABLED, "true",
                Setting.TLS_CERTIFICATE, pki.certificate().toString(), Setting.TLS_KEY, pki.key().toString()))) {
            assertThat(factory.url()).startsWith("https://");
            HttpResponse<String> live = live(factory.url(), pki.trust());
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.version()).isEqualTo(HttpClient.Version.HTTP_2);
            Certificate[] served = live.sslSession().orElseThrow().getPeerCertificates();
            assertThat(served).containsExactly(pki.server(), pki.ca());
            assertThat(factory.factory().newSiteCaFingerprint()).isEmpty();
            assertThat(factory.factory().siteCaCertificate()).isEmpty();
            assertThat(TlsFiles.under(home).dir()).doesNotExist();
        }
    }

    @Test
    void keepsTheGeneratedCaAndServerCertificateAcrossRestartsAndReportsTheCaOnce() throws Exception {
        Path home = dir.resolve("home");
        TlsFiles files = TlsFiles.under(home);
        Map<Setting, String> tls = Map.of(Setting.TLS_ENABLED, "true");
        String fingerprint;
        byte[] ca;
        byte[] server;
        try (TestFactory first = TestFactory.start(home, tls)) {
            fingerprint = first.factory().newSiteCaFingerprint().orElseThrow();
            ca = Files.readAllBytes(files.caCertificate());
            server = Files.readAllBytes(files.certificate());
        }
        try (TestFactory second = TestFactory.start(home, tls)) {
            assertThat(second.factory().newSiteCaFingerprint()).as("shown once, when created").isEmpty();
            assertThat(Files.readAllBytes(files.caCertificate())).isEqualTo(ca);
            assertThat(Files.readAllBytes(files.certificate())).as("still good, not issued again").isEqualTo(server);
            HttpResponse<String> live = live(second.url(), List.of(files.caCertificate()));
            assertThat(live.statusCode()).isEqualTo(200);
            Certificate[] served = live.sslSession().orElseThrow().getPeerCertificates();
            assertThat(ServerIdentity.fingerprint((java.security.cert.X509Certificate) served[1])).isEqualTo(fingerprint);
        }
    }

    @Test
    void tlsSettingsThatCannotWorkFailTheStartNamingTheSettingAndFile() throws Exception {
        TestPki pki = TestPki.create(dir.resolve("pki"));
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not PEM at all\n");
        Path otherKey = Files.writeString(dir.resolve("other.key"), TestPki.otherKey());
        Path missing = dir.resolve("missing.key");

        assertThat(startFailure(Map.of(Setting.TLS_CERTIFICATE, garbage.toString(), Setting.TLS_KEY, pki.key().toString())))
                .isEqualTo("server.tls.certificate (FACTORY_TLS_CERTIFICATE): " + garbage
                        + " holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)");
        assertThat(startFailure(Map.of(Setting.TLS_CERTIFICATE, pki.certificate().toString(), Setting.TLS_KEY,
                missing.toString()))).isEqualTo("server.tls.key (FACTORY_TLS_KEY): " + missing + " does not exist");
        assertThat(startFailure(Map.of(Setting.TLS_CERTIFICATE, pki.certificate().toString(), Setting.TLS_KEY,
                otherKey.toString()))).startsWith("server.tls.key (FACTORY_TLS_KEY): " + otherKey
                + " is not the private key of the certificate in " + pki.certificate());
        assertThat(startFailure(Map.of(Setting.TLS_CERTIFICATE, pki.certificate().toString())))
                .isEqualTo("invalid configuration: server.tls.certificate is set without server.tls.key "
                        + "(FACTORY_TLS_KEY): give the certificate's private key too");
        assertThat(dir.resolve("home").resolve("db")).as("nothing else was opened").doesNotExist();
    }

    /** The message of the failure of a TLS start with these settings. */
    private String startFailure(Map<Setting, String> settings) {
        Map<Setting, String> flags = new EnumMap<>(Setting.class);
        flags.put(Setting.PORT, "0");
        flags.put(Setting.TLS_ENABLED, "true");
        flags.putAll(settings);
        Path home = dir.resolve("home");
        var failure = assertThatThrownBy(() -> {
            FactoryConfig config = new ConfigLoader(Map.of()).load(home, flags);
            Factory.start(config).close();
        }).isInstanceOf(FactoryException.class);
        return failure.actual().getMessage();
    }
}
