package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Everything the factory needs to start, resolved from defaults, {@code factory.yaml},
 * {@code FACTORY_*} environment variables and flags (see {@link ConfigLoader}).
 *
 * @param home where the factory keeps its database, blobs, keys and run files
 * @param egress where the factory itself may connect out to
 */
public record FactoryConfig(Path home, ServerConfig server, DatabaseConfig database, ModelsConfig models,
                            EnginesConfig engines, AuditConfig audit, EgressPolicy egress, KeysConfig keys,
                            ClusterConfig cluster, Optional<OidcConfig> oidc, QuotasConfig quotas) {
    public FactoryConfig {
        requireNonNull(quotas, "quotas is null");
        requireNonNull(oidc, "oidc is null");
        requireNonNull(cluster, "cluster is null");
        requireNonNull(home, "home is null");
        requireNonNull(server, "server is null");
        requireNonNull(database, "database is null");
        requireNonNull(models, "models is null");
        requireNonNull(engines, "engines is null");
        requireNonNull(audit, "audit is null");
        requireNonNull(egress, "egress is null");
        requireNonNull(keys, "keys is null");
        home = home.toAbsolutePath().normalize();
    }

    /**
     * Where the site's own material lives (master keystore, audit signing key, CAs, blobs): {@code cluster.site}, which
     * every control-plane replica of one factory shares, or the home.
     */
    public Path site() {
        return cluster.site().orElse(home);
    }

    public Path blobDir() {
        return site().resolve("blobs");
    }

    public Path adminKeyFile() {
        return site().resolve("admin.key");
    }

    /**
     * The key that sealed stored secrets before the key hierarchy (AES-GCM); no longer created. An install that has
     * one gets its secrets sealed again under the site key at start.
     */
    public Path masterKeyFile() {
        return site().resolve("master.key");
    }

    /** The local master keystore (PKCS12, mode 0600): the site master key's versions; created at first start. */
    public Path masterKeystoreFile() {
        return site().resolve("master.p12");
    }

    /** The generated password of the local master keystore (0600), when keys.keystorePassword is not set. */
    public Path masterKeystorePasswordFile() {
        return site().resolve("master.p12.password");
    }

    /**
     * The generated password of the embedded H2 database (0600), when database.password is not set; tools that open
     * the database of a stopped factory read it from here.
     */
    public Path databasePasswordFile() {
        return home.resolve("db.password");
    }

    /** The Ed25519 key that signs audit digests (PKCS#8, mode 0600); created at first start. */
    public Path auditKeyFile() {
        return site().resolve("audit.key");
    }

    /** The audit key's public half (PEM), for verifying the audit trail offline elsewhere. */
    public Path auditPublicKeyFile() {
        return site().resolve("audit.pub");
    }

    /**
     * The newest audit digest the factory knows to be durable, kept outside the database; every start and
     * {@code factory audit verify} check that the chain still reaches it.
     */
    public Path auditAnchorFile() {
        return home.resolve("audit.anchor");
    }

    /** Where the TLS material the factory generates lives (site CA, server certificate, their keys). */
    public TlsFiles tlsFiles() {
        return TlsFiles.under(site());
    }

    /** Where a running server records its URL so local commands find it. */
    public Path serverFile() {
        return home.resolve("run").resolve("server.json");
    }

    public FactoryConfig withServer(ServerConfig server) {
        return new FactoryConfig(home, server, database, models, engines, audit, egress, keys, cluster, oidc, quotas);
    }
}
