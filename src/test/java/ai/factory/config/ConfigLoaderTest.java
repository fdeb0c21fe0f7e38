package ai.factory.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.FactoryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path home;

    @Test
    void defaultsGiveAnEmbeddedFactoryOnLoopback() {
        FactoryConfig c = new ConfigLoader(Map.of()).load(home, Map.of());

        assertThat(c.home()).isEqualTo(home.toAbsolutePath());
        assertThat(c.server().host()).isEqualTo("127.0.0.1");
        assertThat(c.server().port()).isEqualTo(8080);
        assertThat(c.server().shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.server().maxRequestBytes()).isEqualTo(16L << 20);
        assertThat(c.server().generationTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.database().url()).startsWith("jdbc:h2:file:" + home.resolve("db").resolve("factory"));
        assertThat(c.database().user()).isNull();
        assertThat(c.models().maxUploadBytes()).isEqualTo(512L << 30);
        assertThat(c.models().importRoot()).isEmpty();
        assertThat(c.engines().embeddingThreads()).isZero();
        assertThat(c.engines().effectiveEmbeddingThreads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(c.engines().effectiveGenerationThreads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(c.adminKeyFile()).isEqualTo(home.resolve("admin.key"));
        assertThat(c.audit().digestEvery()).isEqualTo(1000);
        assertThat(c.audit().digestInterval()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.audit().contentRetention()).isEmpty();
        assertThat(c.auditKeyFile()).isEqualTo(home.resolve("audit.key"));
        assertThat(c.auditPublicKeyFile()).isEqualTo(home.resolve("audit.pub"));
        assertThat(c.egress().rules()).as("egress: deny all by default").isEmpty();
        assertThat(c.keys()).isEqualTo(KeysConfig.defaults());
        assertThat(c.keys().provider()).isEqualTo(KeysConfig.Provider.LOCAL);
        assertThat(c.keys().masterKeyLabel()).isEqualTo("factory-master");
        assertThat(c.masterKeystoreFile()).isEqualTo(home.resolve("master.p12"));
        assertThat(c.masterKeystorePasswordFile()).isEqualTo(home.resolve("master.p12.password"));
        assertThat(c.server().tls()).isEqualTo(TlsConfig.off());
        assertThat(c.tlsFiles().caCertificate()).isEqualTo(home.resolve("tls").resolve("ca.pem"));
        assertThat(c.tlsFiles().caKey()).isEqualTo(home.resolve("tls").resolve("ca.key"));
        assertThat(c.tlsFiles().certificate()).isEqualTo(home.resolve("tls").resolve("server.pem"));
        assertThat(c.tlsFiles().key()).isEqualTo(home.resolve("tls").resolve("server.key"));
    }

    @Test
    void tlsSettingsMapFromFileEnvironmentAndFlags() throws IOException {
        Files.writeString(home.resolve("factory.yaml"), """
                server:
                  tls:
                    enabled: true
                    names: "factory.example.com, 10.0.0.7 ,fd00::7"
                """);
        TlsConfig generated = new ConfigLoader(Map.of()).load(home, Map.of()).server().tls();
        assertThat(generated.enabled()).isTrue();
        assertThat(generated.generated()).isTrue();
        assertThat(generated.names()).containsExactly("factory.example.com", "10.0.0.7", "fd00::7");

        Path other = home.resolve("other");
        TlsConfig site = new ConfigLoader(Map.of("FACTORY_TLS_CERTIFICATE", "/etc/pki/factory.pem",
                "FACTORY_TLS_KEY", "/etc/pki/private/../private/factory.key")).load(other, Map.of(Setting.TLS_ENABLED, "TRUE"))
                .server().tls();
        assertThat(site.certificate()).contains(Path.of("/etc/pki/factory.pem"));
        assertThat(site.key()).contains(Path.of("/etc/pki/private/factory.key"));
        assertThat(site.generated()).isFalse();
    }

    @Test
    void tlsSettingsThatCannotWorkNameTheSetting() {
        Path other = home.resolve("other");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_ENABLED", "true", "FACTORY_TLS_CERTIFICATE",
                "/etc/pki/factory.pem")).load(other, Map.of())).isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.tls.certificate is set without server.tls.key (FACTORY_TLS_KEY)");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_ENABLED", "true", "FACTORY_TLS_KEY",
                "/etc/pki/factory.key")).load(other, Map.of())).isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.tls.key is set without server.tls.certificate (FACTORY_TLS_CERTIFICATE)");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_CERTIFICATE", "/etc/pki/factory.pem",
                "FACTORY_TLS_KEY", "/etc/pki/factory.key")).load(other, Map.of())).isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.tls.enabled is false");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_ENABLED", "yes")).load(other, Map.of()))
                .isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.tls.enabled (FACTORY_TLS_ENABLED) = 'yes': must be true or false");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_ENABLED", "true", "FACTORY_TLS_NAMES",
                "ok.example, not a name")).load(other, Map.of())).isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.tls.names: 'not a name' is neither a DNS name nor an IP address");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_TLS_ENABLED", "true", "FACTORY_TLS_NAMES", "a.example",
                "FACTORY_TLS_CERTIFICATE", "/c.pem", "FACTORY_TLS_KEY", "/c.key")).load(other, Map.of()))
                .isInstanceOf(FactoryException.class).hasMessageContaining("server.tls.names is for the generated certificate");
    }

    @Test
    void keySettingsMapFromFileAndEnvironmentAndHideTheirSecrets() throws IOException {
        Files.writeString(home.resolve("factory.yaml"), """
                keys:
                  provider: pkcs11
                  masterKeyLabel: site-kek-master
                  pkcs11:
                    library: /usr/lib/softhsm/libsofthsm2.so
                    tokenLabel: factory
                """);
        FactoryConfig c = new ConfigLoader(Map.of("FACTORY_PKCS11_PIN", "s3cret-pin")).load(home, Map.of());

        assertThat(c.keys().provider()).isEqualTo(KeysConfig.Provider.PKCS11);
        assertThat(c.keys().masterKeyLabel()).isEqualTo("site-kek-master");
        var hsm = c.keys().pkcs11().orElseThrow();
        assertThat(hsm.library()).isEqualTo(Path.of("/usr/lib/softhsm/libsofthsm2.so"));
        assertThat(hsm.tokenLabel()).contains("factory");
        assertThat(hsm.slot()).isEmpty();
        assertThat(hsm.pin()).isEqualTo("s3cret-pin");
        assertThat(c.toString()).doesNotContain("s3cret-pin");

        FactoryConfig bySlot = new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "pkcs11", "FACTORY_PKCS11_LIBRARY", "/lib/p11.so",
                "FACTORY_PKCS11_SLOT", "1234", "FACTORY_PKCS11_PIN", "1")).load(home.resolve("other"), Map.of());
        assertThat(bySlot.keys().pkcs11().orElseThrow().slot()).hasValue(1234);

        FactoryConfig local = new ConfigLoader(Map.of("FACTORY_KEYSTORE_PASSWORD", "hunter2-long")).load(home.resolve("x"), Map.of());
        assertThat(local.keys().keystorePassword()).contains("hunter2-long");
        assertThat(local.toString()).doesNotContain("hunter2-long");
        assertThat(Setting.KEYSTORE_PASSWORD.secret()).isTrue();
        assertThat(Setting.PKCS11_PIN.secret()).isTrue();
    }

    @Test
    void singleSignOnSettingsParseAndTheirMistakesNameTheSetting() {
        assertThat(new ConfigLoader(Map.of()).load(home, Map.of()).oidc()).as("off by default").isEmpty();
        OidcConfig oidc = new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "https://id.example.org/realms/ai",
                "FACTORY_OIDC_ROLE_MAPPING", "groups=ml-admins:default:admin, roles=Factory.Invoke:alpha:invoker",
                "FACTORY_OIDC_CLIENT_ID", "factory", "FACTORY_OIDC_CLIENT_SECRET", "shh-secret"))
                .load(home, Map.of()).oidc().orElseThrow();
        assertThat(oidc.audiences()).as("the client id when none is given").containsExactly("factory");
        assertThat(oidc.roleMapping()).containsExactly(
                new OidcConfig.RoleRule("groups", "ml-admins", "default", "admin"),
                new OidcConfig.RoleRule("roles", "Factory.Invoke", "alpha", "invoker"));
        assertThat(oidc.clockSkew()).isEqualTo(Duration.ofSeconds(60));
        assertThat(oidc.sessionLength()).isEqualTo(Duration.ofHours(1));
        assertThat(Setting.OIDC_CLIENT_SECRET.secret()).isTrue();

        Path fresh = home.resolve("fresh");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "https://id.example.org"))
                .load(fresh, Map.of())).hasMessageContaining("auth.oidc.audience");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "id.example.org",
                "FACTORY_OIDC_AUDIENCE", "x")).load(fresh, Map.of())).hasMessageContaining("http(s) URL");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "https://id.example.org",
                "FACTORY_OIDC_AUDIENCE", "x", "FACTORY_OIDC_ROLE_MAPPING", "groups:admin")).load(fresh, Map.of()))
                .hasMessageContaining("CLAIM=VALUE:PROJECT:ROLE").hasMessageContaining("groups:admin");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "https://id.example.org",
                "FACTORY_OIDC_AUDIENCE", "x", "FACTORY_OIDC_CLOCK_SKEW", "1h")).load(fresh, Map.of()))
                .hasMessageContaining("auth.oidc.clockSkew is 0 to 5m");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_OIDC_ISSUER", "https://id.example.org",
                "FACTORY_OIDC_AUDIENCE", "x", "FACTORY_OIDC_SESSION_LENGTH", "7d")).load(fresh, Map.of()))
                .hasMessageContaining("auth.oidc.sessionLength is 1m to 24h");
    }

    @Test
    void keySettingMistakesNameTheSetting() {
        Path fresh = home.resolve("fresh");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "vault")).load(fresh, Map.of()))
                .hasMessageContaining("keys.provider").hasMessageContaining("use local or pkcs11");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "pkcs11")).load(fresh, Map.of()))
                .hasMessageContaining("keys.pkcs11.library");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "pkcs11", "FACTORY_PKCS11_LIBRARY", "/x.so",
                "FACTORY_PKCS11_PIN", "1")).load(fresh, Map.of()))
                .hasMessageContaining("exactly one of slot and tokenLabel");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "pkcs11", "FACTORY_PKCS11_LIBRARY", "/x.so",
                "FACTORY_PKCS11_SLOT", "first", "FACTORY_PKCS11_PIN", "very-secret")).load(fresh, Map.of()))
                .hasMessageContaining("keys.pkcs11.slot").hasMessageContaining("not a number")
                .hasMessageNotContaining("very-secret");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_KEYS_PROVIDER", "pkcs11", "FACTORY_PKCS11_LIBRARY", "/x.so",
                "FACTORY_PKCS11_SLOT", "1")).load(fresh, Map.of()))
                .hasMessageContaining("keys.pkcs11.pin is required");
    }

    @Test
    void fileThenEnvironmentThenFlagsEachWin() throws IOException {
        Files.writeString(home.resolve("factory.yaml"), """
                server:
                  port: 9000
                  host: 0.0.0.0
                  shutdownGrace: 5s
                  maxRequestSize: 1MiB
                database:
                  url: jdbc:postgresql://db.example:5432/factory
                  user: factory
                  password: from-file
                  maxPoolSize: 4
                models:
                  maxUploadSize: 10GiB
                  importRoot: /srv/models/../import
                embeddings:
                  threads: 3
                generation:
                  threads: 1
                audit:
                  digestEvery: 50
                  digestInterval: 30s
                egress:
                  allow: "models.example.com:443, *.corp.internal"
                """);
        Map<String, String> env = Map.of("FACTORY_PORT", "9100", "FACTORY_DB_PASSWORD", "from-env");

        FactoryConfig fileAndEnv = new ConfigLoader(env).load(home, Map.of());
        assertThat(fileAndEnv.server().port()).isEqualTo(9100);
        assertThat(fileAndEnv.server().host()).isEqualTo("0.0.0.0");
        assertThat(fileAndEnv.server().shutdownGrace()).isEqualTo(Duration.ofSeconds(5));
        assertThat(fileAndEnv.server().maxRequestBytes()).isEqualTo(1L << 20);
        assertThat(fileAndEnv.database().url()).isEqualTo("jdbc:postgresql://db.example:5432/factory");
        assertThat(fileAndEnv.database().user()).isEqualTo("factory");
        assertThat(fileAndEnv.database().password()).isEqualTo("from-env");
        assertThat(fileAndEnv.database().maxPoolSize()).isEqualTo(4);
        assertThat(fileAndEnv.models().maxUploadBytes()).isEqualTo(10L << 30);
        assertThat(fileAndEnv.models().importRoot()).contains(Path.of("/srv/import"));
        assertThat(fileAndEnv.engines().embeddingThreads()).isEqualTo(3);
        assertThat(fileAndEnv.engines().generationThreads()).isEqualTo(1);
        assertThat(fileAndEnv.audit().digestEvery()).isEqualTo(50);
        assertThat(fileAndEnv.audit().digestInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(fileAndEnv.egress().allows("models.example.com", 443)).isTrue();
        assertThat(fileAndEnv.egress().allows("a.corp.internal", 80)).isTrue();
        assertThat(fileAndEnv.egress().allows("example.org", 443)).isFalse();

        FactoryConfig withFlags = new ConfigLoader(env).load(home, Map.of(Setting.PORT, "9200",
                Setting.DB_URL, "jdbc:h2:file:/tmp/x"));
        assertThat(withFlags.server().port()).isEqualTo(9200);
        assertThat(withFlags.database().url()).isEqualTo("jdbc:h2:file:/tmp/x");
    }

    @Test
    void homeComesFromFlagThenEnvironmentThenUserHome(@TempDir Path other) {
        assertThat(new ConfigLoader(Map.of("FACTORY_HOME", other.toString())).home(home)).isEqualTo(home.toAbsolutePath());
        assertThat(new ConfigLoader(Map.of("FACTORY_HOME", other.toString())).home(null)).isEqualTo(other.toAbsolutePath());
        assertThat(new ConfigLoader(Map.of()).home(null)).isEqualTo(Path.of(System.getProperty("user.home"), ".factory"));
    }

    @Test
    void badValuesNameTheSettingAndNeverShowSecrets() throws IOException {
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_PORT", "eighty")).load(home, Map.of()))
                .isInstanceOf(FactoryException.class)
                .hasMessageContaining("server.port").hasMessageContaining("FACTORY_PORT").hasMessageContaining("not a number");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_PORT", "70000")).load(home, Map.of()))
                .hasMessageContaining("0..65535");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_SHUTDOWN_GRACE", "soon")).load(home, Map.of()))
                .hasMessageContaining("not a duration");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_MAX_UPLOAD_SIZE", "lots")).load(home, Map.of()))
                .hasMessageContaining("not a size");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_MEMORY_LIMIT", "plenty")).load(home, Map.of()))
                .hasMessageContaining("memory.limit").hasMessageContaining("not a size");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_MEMORY_LIMIT", "0")).load(home, Map.of()))
                .hasMessageContaining("memory.limit must be a positive size");
        assertThat(new ConfigLoader(Map.of("FACTORY_MEMORY_LIMIT", "16GiB")).load(home, Map.of()).engines()
                .memoryLimit()).hasValue(16L << 30);
        assertThat(new ConfigLoader(Map.of()).load(home, Map.of()).engines().memoryLimit()).isEmpty();
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_CLUSTER_ROLE", "boss")).load(home, Map.of()))
                .hasMessageContaining("cluster.role").hasMessageContaining("all or control");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_CLUSTER_ROLE", "control")).load(home, Map.of()))
                .hasMessageContaining("cluster.role control needs cluster.port");
        assertThat(new ConfigLoader(Map.of("FACTORY_CLUSTER_ROLE", "Control", "FACTORY_CLUSTER_PORT", "0"))
                .load(home, Map.of()).cluster().role()).isEqualTo(ClusterConfig.Role.CONTROL);
        assertThat(new ConfigLoader(Map.of()).load(home, Map.of()).cluster().role()).isEqualTo(ClusterConfig.Role.ALL);
        assertThat(new ConfigLoader(Map.of()).load(home, Map.of()).cluster().placement())
                .isEqualTo(ClusterConfig.Placement.SPREAD);
        assertThat(new ConfigLoader(Map.of("FACTORY_CLUSTER_PLACEMENT", "BinPack")).load(home, Map.of()).cluster()
                .placement()).isEqualTo(ClusterConfig.Placement.BINPACK);
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_CLUSTER_PLACEMENT", "random")).load(home, Map.of()))
                .hasMessageContaining("cluster.placement is spread or binpack, not 'random'");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_CLUSTER_ADVERTISE", "cp 1; rm")).load(home, Map.of()))
                .hasMessageContaining("cluster.advertise is a host name or an address");
        FactoryConfig shared = new ConfigLoader(Map.of("FACTORY_CLUSTER_SITE", home.resolve("../site").toString(),
                "FACTORY_CLUSTER_ADVERTISE", "cp-1.factory.svc")).load(home, Map.of());
        assertThat(shared.cluster().advertise()).hasValue("cp-1.factory.svc");
        Path site = home.resolve("../site").toAbsolutePath().normalize();
        assertThat(List.of(shared.auditKeyFile(), shared.masterKeystoreFile(), shared.adminKeyFile(), shared.blobDir()))
                .as("the site's own material is in the site folder").allMatch(p -> p.getParent().equals(site));
        assertThat(List.of(shared.auditAnchorFile(), shared.serverFile().getParent().getParent()))
                .as("what is this replica's own stays in its home").allMatch(p -> p.startsWith(home));
        assertThat(new ConfigLoader(Map.of()).load(home, Map.of()).auditKeyFile().getParent()).isEqualTo(
                home.toAbsolutePath().normalize());
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_DB_URL", "jdbc:mysql://x/y")).load(home, Map.of()))
                .hasMessageContaining("unsupported database URL");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_DB_POOL_SIZE", "s3cret-ish")).load(home, Map.of()))
                .hasMessageContaining("maxPoolSize");

        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_AUDIT_DIGEST_EVERY", "0")).load(home, Map.of()))
                .hasMessageContaining("audit.digestEvery must be at least 1");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_AUDIT_DIGEST_EVERY", "50001")).load(home, Map.of()))
                .hasMessageContaining("at most 50000");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_AUDIT_DIGEST_INTERVAL", "0s")).load(home, Map.of()))
                .hasMessageContaining("audit.digestInterval must be positive");
        assertThat(new ConfigLoader(Map.of("FACTORY_AUDIT_CONTENT_RETENTION", "30d")).load(home, Map.of()).audit()
                .contentRetention()).contains(Duration.ofDays(30));
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_AUDIT_CONTENT_RETENTION", "0d")).load(home, Map.of()))
                .hasMessageContaining("audit.contentRetention must be positive");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_AUDIT_CONTENT_RETENTION", "a month")).load(home, Map.of()))
                .hasMessageContaining("audit.contentRetention").hasMessageContaining("not a duration");
        assertThatThrownBy(() -> new ConfigLoader(Map.of("FACTORY_EGRESS_ALLOW", "https://x.example")).load(home, Map.of()))
                .hasMessageContaining("egress.allow").hasMessageContaining("not a host[:port] pattern");

        Files.writeString(home.resolve("factory.yaml"), "server:\n  prot: 9000\n");
        assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(home, Map.of()))
                .hasMessageContaining("unknown setting 'server.prot'");
        Files.writeString(home.resolve("factory.yaml"), "server: [1, 2\n");
        assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(home, Map.of()))
                .hasMessageContaining("not valid YAML");
        Files.writeString(home.resolve("factory.yaml"), "server:\n  port: [1, 2]\n");
        assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(home, Map.of()))
                .hasMessageContaining("must be a single value");
    }

    @Test
    void unitsParseWhatTheReadmeShows() {
        assertThat(Units.parseSize("1048576")).isEqualTo(1L << 20);
        assertThat(Units.parseSize("512KB")).isEqualTo(512L << 10);
        assertThat(Units.parseSize("16MiB")).isEqualTo(16L << 20);
        assertThat(Units.parseSize("2 GiB")).isEqualTo(2L << 30);
        assertThat(Units.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Units.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Units.parseDuration("30d")).isEqualTo(Duration.ofDays(30));
        assertThat(Units.parseDuration("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> Units.parseSize("99999999999TB")).hasMessageContaining("too large");
    }

    @Test
    void readmeConfigurationTableListsEverySetting() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        Arrays.stream(Setting.values()).forEach(s -> assertThat(readme)
                .as("README row for %s", s.key())
                .contains("`" + s.key() + "`").contains("`" + s.env() + "`"));
    }
}
