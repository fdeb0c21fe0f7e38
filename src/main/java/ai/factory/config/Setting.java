package ai.factory.config;

import org.jspecify.annotations.Nullable;

import java.util.Arrays;
import java.util.Optional;

/**
 * Every setting the factory reads, with its key in {@code factory.yaml}, its environment variable,
 * its command-line flag (where it has one) and its default. The README's configuration table is
 * this enum; a test keeps the two in step.
 */
public enum Setting {
    HOST("server.host", "FACTORY_HOST", "--host", "127.0.0.1", "Address the HTTP server binds to."),
    PORT("server.port", "FACTORY_PORT", "--port", "8080", "HTTP port (0 picks a free one)."),
    SHUTDOWN_GRACE("server.shutdownGrace", "FACTORY_SHUTDOWN_GRACE", null, "30s",
            "How long shutdown waits for in-flight requests."),
    GENERATION_TIMEOUT("server.generationTimeout", "FACTORY_GENERATION_TIMEOUT", null, "10m",
            "Longest one generation may run; then it is stopped and the caller gets a timeout error."),
    PUBLIC_URL("server.publicUrl", "FACTORY_PUBLIC_URL", null, "",
            "The URL people reach this factory at when it is not what it sees (behind an ingress or proxy that ends TLS: https://ai.example.org); sign-in's redirect and sign-out addresses are made from it. None: from each request's scheme and Host."),
    MAX_REQUEST_SIZE("server.maxRequestSize", "FACTORY_MAX_REQUEST_SIZE", null, "16MiB",
            "Largest JSON request body."),
    TLS_ENABLED("server.tls.enabled", "FACTORY_TLS_ENABLED", "--tls", "false",
            "Serve the API over TLS on server.port (HTTPS: h2 by ALPN beside HTTP/1.1) instead of clear text; see docs/tls.md."),
    TLS_CERTIFICATE("server.tls.certificate", "FACTORY_TLS_CERTIFICATE", null, "",
            "The site's server certificate (PEM, then any intermediates). None: with server.tls.enabled, a site CA is created under $FACTORY_HOME/tls and issues one."),
    TLS_KEY("server.tls.key", "FACTORY_TLS_KEY", null, "",
            "The certificate's private key (PEM: PKCS#8, or a traditional RSA or EC key; unencrypted)."),
    TLS_NAMES("server.tls.names", "FACTORY_TLS_NAMES", null, "",
            "Comma-separated extra DNS names and IP addresses for the generated certificate, beside localhost, 127.0.0.1, ::1, server.host and the machine's host name."),
    MAX_UPLOAD_SIZE("models.maxUploadSize", "FACTORY_MAX_UPLOAD_SIZE", null, "512GiB",
            "Largest model file accepted by upload or import."),
    IMPORT_ROOT("models.importRoot", "FACTORY_IMPORT_ROOT", null, "",
            "Folder whose GGUF files Bedrock CreateModelImportJob may import from file:// URIs, and under which "
                    + "CreateModelCustomizationJob reads its data and writes its metrics (none: refused)."),
    BUILTIN_MODELS("models.builtin", "FACTORY_BUILTIN_MODELS", null, "true",
            "Register and deploy the bundled embedding model builtin/all-minilm-l6-v2 at start (false: none; one already registered stays)."),
    SIGNATURE_POLICY("models.signaturePolicy", "FACTORY_SIGNATURE_POLICY", null, "off",
            "Whether models must carry a signature (OpenSSF model signing) by a trusted signer: off, warn (checked and audited, loaded anyway) or require (refused at import and at load unless it verifies); see docs/supply-chain.md."),
    TRUSTED_SIGNERS("models.trustedSigners", "FACTORY_TRUSTED_SIGNERS", null, "",
            "Comma-separated PEM files of the public keys (ECDSA, Ed25519) and certificate authorities whose model signatures the site trusts."),
    SIGNATURE_POLICY_BY_CLASSIFICATION("models.signaturePolicyByClassification",
            "FACTORY_SIGNATURE_POLICY_BY_CLASSIFICATION", null, "",
            "Signature policies for the models of a data classification, replacing the site's and a project's: restricted=require,public=warn (none: the project's, else the site's)."),
    TRUSTED_IDENTITIES("models.trustedIdentities", "FACTORY_TRUSTED_IDENTITIES", null, "",
            "Semicolon-separated certificate identities whose model signatures the site takes from the authorities in models.trustedSigners: subjects (CN=ml-release,O=Acme) or alternative names (email:release@acme.example, uri:https://ci.acme.example/release, dns:ci.acme.example), each optionally followed by |issuer:URL, the OIDC issuer a keyless certificate must name; none: any signer they certified."),
    TRUSTED_SIGNERS_BY_CLASSIFICATION("models.trustedSignersByClassification",
            "FACTORY_TRUSTED_SIGNERS_BY_CLASSIFICATION", null, "",
            "PEM files of the signers trusted for the models of a data classification, in place of the site's and a project's: restricted=/etc/factory/release.pem|/etc/factory/ca.pem (none: the project's, else the site's)."),
    TRANSPARENCY_LOG_KEYS("models.transparencyLogKeys", "FACTORY_TRANSPARENCY_LOG_KEYS", null, "",
            "Comma-separated PEM files of the transparency logs' (Rekor's) public keys whose entries date keyless (Sigstore) certificate signatures, verified offline (none: a certificate is judged when it is verified)."),
    SIGNING_KEY("models.signingKey", "FACTORY_SIGNING_KEY", null, "",
            "The site's own signing key, which signs fine-tuned models, 'models sign NS/MODEL' and exported bundles, and which the site trusts: a PEM file (ECDSA or Ed25519), or pkcs11:LABEL for a key with its certificate on the token keys.pkcs11.* names (none: the factory signs nothing)."),
    SIGNING_CERTIFICATE("models.signingCertificate", "FACTORY_SIGNING_CERTIFICATE", null, "",
            "The signing key's certificate and chain (PEM), issued by a certificate authority in models.trustedSigners; signatures then carry it instead of the key's hint."),
    DB_URL("database.url", "FACTORY_DB_URL", "--db-url", "jdbc:h2:file:$FACTORY_HOME/db/factory",
            "JDBC URL: the embedded H2 file by default, or jdbc:postgresql://host:port/db."),
    DB_USER("database.user", "FACTORY_DB_USER", null, "", "Database user (PostgreSQL)."),
    DB_PASSWORD("database.password", "FACTORY_DB_PASSWORD", null, "", "Database password; never printed. None with the embedded H2: a generated one in $FACTORY_HOME/db.password (0600)."),
    DB_POOL_SIZE("database.maxPoolSize", "FACTORY_DB_POOL_SIZE", null, "10", "Database connections at most."),
    EMBEDDING_THREADS("embeddings.threads", "FACTORY_EMBEDDING_THREADS", null, "0",
            "CPU threads for embedding models (0 = all cores)."),
    GENERATION_THREADS("generation.threads", "FACTORY_GENERATION_THREADS", null, "0",
            "CPU threads per replica of a text-generation deployment that names none (0 = all cores)."),
    TRAINING_THREADS("training.threads", "FACTORY_TRAINING_THREADS", null, "0",
            "CPU threads of a fine-tuning job (0 = all cores)."),
    TRAINING_NICENESS("training.niceness", "FACTORY_TRAINING_NICENESS", null, "10",
            "The nice value (0 to 19) fine-tuning runs at, so that serving gets the CPUs first (0: the same as serving)."),
    MEMORY_LIMIT("memory.limit", "FACTORY_MEMORY_LIMIT", null, "",
            "Host memory deployments and fine-tuning jobs may hold together (e.g. 16GiB); none: whatever the machine has free. A deployment that does not fit takes a running fine-tuning job's memory (the job checkpoints and waits)."),
    CLUSTER_PORT("cluster.port", "FACTORY_CLUSTER_PORT", "--cluster-port", "",
            "Port of the mutual-TLS endpoint workers call after joining (0 picks a free one); none: this factory takes no workers. Needs PostgreSQL; see docs/cluster.md."),
    CLUSTER_ROLE("cluster.role", "FACTORY_CLUSTER_ROLE", "--role", "all",
            "all: this factory serves its deployments itself; control: it runs the API, registry, keys and audit, and places text models' replicas on the workers that joined (needs cluster.port and PostgreSQL)."),
    CLUSTER_SITE("cluster.site", "FACTORY_CLUSTER_SITE", "--site", "",
            "Folder of the site's own material: master keystore, audit signing key, CAs and model blobs. Every control-plane replica of one factory names the same (a shared volume); none: the home. Made by the first replica that starts."),
    CLUSTER_ADVERTISE("cluster.advertise", "FACTORY_CLUSTER_ADVERTISE", null, "",
            "Host name or address workers reach this control-plane replica's cluster port at; none: server.host, or this machine's address when that is 0.0.0.0."),
    CLUSTER_HEARTBEAT_DEADLINE("cluster.heartbeatDeadline", "FACTORY_CLUSTER_HEARTBEAT_DEADLINE", null, "10s",
            "How long a node may go without a heartbeat before it is shown as down; workers send one every third of it."),
    CLUSTER_PLACEMENT("cluster.placement", "FACTORY_CLUSTER_PLACEMENT", null, "spread",
            "How a control plane chooses among the workers with room for a replica: spread (a deployment's replicas on different workers, then the worker with the fewest) or binpack (the worker with the least memory left that still fits, so that whole workers stay free for large models)."),
    AUDIT_DIGEST_EVERY("audit.digestEvery", "FACTORY_AUDIT_DIGEST_EVERY", null, "1000",
            "Records per signed audit digest (1 to 50000): one is written, in the same commit, as soon as this many are not yet covered."),
    AUDIT_DIGEST_INTERVAL("audit.digestInterval", "FACTORY_AUDIT_DIGEST_INTERVAL", null, "5m",
            "Longest a record waits for a signed digest, from the time it was made, when fewer than audit.digestEvery arrive."),
    AUDIT_CONTENT_RETENTION("audit.contentRetention", "FACTORY_AUDIT_CONTENT_RETENTION", null, "",
            "How long content logged by projects with content logging on is kept (e.g. 30d); then its data key is destroyed and its file deleted. None: kept until its project is deleted."),
    QUOTAS_TIME_ZONE("quotas.timeZone", "FACTORY_QUOTAS_TIME_ZONE", null, "",
            "The site's time zone (Europe/Berlin, UTC): token budgets per day and per month begin at its midnight. None: the machine's zone."),
    EGRESS_ALLOW("egress.allow", "FACTORY_EGRESS_ALLOW", null, "",
            "Comma-separated host[:port] patterns the factory may connect out to (*.example.com, 10.0.0.5:443); none: every outbound connection is refused."),
    KEYS_PROVIDER("keys.provider", "FACTORY_KEYS_PROVIDER", null, "local",
            "Where the site master key lives: local (a PKCS12 keystore, $FACTORY_HOME/master.p12) or pkcs11 (an HSM)."),
    KEYSTORE_PASSWORD("keys.keystorePassword", "FACTORY_KEYSTORE_PASSWORD", null, "",
            "Password of the local master keystore; never printed. None: a generated one in $FACTORY_HOME/master.p12.password (0600)."),
    MASTER_KEY_LABEL("keys.masterKeyLabel", "FACTORY_MASTER_KEY_LABEL", null, "factory-master",
            "Name of the master key in the keystore or HSM; version N is LABEL-vN."),
    PKCS11_LIBRARY("keys.pkcs11.library", "FACTORY_PKCS11_LIBRARY", null, "",
            "The HSM's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so."),
    PKCS11_SLOT("keys.pkcs11.slot", "FACTORY_PKCS11_SLOT", null, "",
            "The HSM slot id holding the token (or set keys.pkcs11.tokenLabel instead)."),
    PKCS11_TOKEN_LABEL("keys.pkcs11.tokenLabel", "FACTORY_PKCS11_TOKEN_LABEL", null, "",
            "The label of the HSM token holding the master key (or set keys.pkcs11.slot instead)."),
    PKCS11_PIN("keys.pkcs11.pin", "FACTORY_PKCS11_PIN", null, "",
            "The HSM token's user PIN; never printed."),
    OIDC_ISSUER("auth.oidc.issuer", "FACTORY_OIDC_ISSUER", null, "",
            "The OpenID Connect issuer whose tokens the APIs accept beside API keys (its discovery document and keys are fetched through egress.allow); none: API keys only. See docs/sso.md."),
    OIDC_AUDIENCE("auth.oidc.audience", "FACTORY_OIDC_AUDIENCE", null, "",
            "Comma-separated audiences an accepted token must name one of (the factory's resource or client id at the issuer); none: auth.oidc.clientId."),
    OIDC_ROLE_MAPPING("auth.oidc.roleMapping", "FACTORY_OIDC_ROLE_MAPPING", null, "",
            "Comma-separated CLAIM=VALUE:PROJECT:ROLE rules, tried in order: the first whose claim holds the value (or lists it) gives the caller that project and role, e.g. groups=ml-admins:default:admin,groups=ml-apps:default:invoker. A token no rule matches is refused."),
    OIDC_CLIENT_ID("auth.oidc.clientId", "FACTORY_OIDC_CLIENT_ID", null, "",
            "The factory's client id at the issuer, for signing people in (authorization code flow with PKCE, at /auth/login); none: people use tokens or keys."),
    OIDC_CLIENT_SECRET("auth.oidc.clientSecret", "FACTORY_OIDC_CLIENT_SECRET", null, "",
            "The client's secret (client_secret_basic); none: a public client (PKCE alone). Never printed."),
    OIDC_CLI_CLIENT_ID("auth.oidc.cliClientId", "FACTORY_OIDC_CLI_CLIENT_ID", null, "",
            "A public client id at the issuer for the command line's 'factory login' (device authorization grant, with refresh tokens); none: the command line uses keys."),
    OIDC_SESSION_LENGTH("auth.oidc.sessionLength", "FACTORY_OIDC_SESSION_LENGTH", null, "1h",
            "How long a person's sign-in lasts (1m to 24h); then they sign in again at /auth/login (without a prompt while the provider's own session lasts), and their groups are read anew."),
    OIDC_CLOCK_SKEW("auth.oidc.clockSkew", "FACTORY_OIDC_CLOCK_SKEW", null, "60s",
            "How far the issuer's clock may be from this machine's when checking a token's exp and nbf (at most 5m).");

    private final String key;
    private final String env;
    private final @Nullable String flag;
    private final String defaultValue;
    private final String description;

    Setting(String key, String env, @Nullable String flag, String defaultValue, String description) {
        this.key = key;
        this.env = env;
        this.flag = flag;
        this.defaultValue = defaultValue;
        this.description = description;
    }

    public String key() {
        return key;
    }

    public String env() {
        return env;
    }

    public Optional<String> flag() {
        return Optional.ofNullable(flag);
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }

    public boolean secret() {
        return this == DB_PASSWORD || this == KEYSTORE_PASSWORD || this == PKCS11_PIN || this == OIDC_CLIENT_SECRET;
    }

    public static Optional<Setting> byKey(String key) {
        return Arrays.stream(values()).filter(s -> s.key.equals(key)).findFirst();
    }
}
