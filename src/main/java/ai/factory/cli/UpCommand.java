package ai.factory.cli;

import ai.factory.app.Factory;
import ai.factory.config.ConfigLoader;
import ai.factory.config.FactoryConfig;
import ai.factory.config.Setting;
import org.jspecify.annotations.Nullable;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code factory up}: runs the factory in this process until SIGTERM or Ctrl-C, then shuts down gracefully. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the factory: API server, registry and the bundled embedding model.")
final class UpCommand implements Callable<Integer> {
    /** The exit status of a control-plane replica that stopped because it lost its leadership (EX_TEMPFAIL). */
    static final int LEADERSHIP_LOST = 75;

    @Option(names = "--home", description = "Where the factory keeps its data (default: $FACTORY_HOME or ~/.factory).")
    @Nullable Path home;

    @Option(names = "--port", description = "HTTP port (default 8080).")
    @Nullable Integer port;

    @Option(names = "--host", description = "Address to bind (default 127.0.0.1).")
    @Nullable String host;

    @Option(names = "--tls", description = "Serve HTTPS (h2 and HTTP/1.1): the site's certificate (server.tls.certificate), "
            + "else one from a site CA created in $FACTORY_HOME/tls.")
    boolean tls;

    @Option(names = "--db-url", description = "JDBC URL, e.g. jdbc:postgresql://db:5432/factory (default: embedded H2).")
    @Nullable String dbUrl;

    @Option(names = "--cluster-port", description = "Take workers: the port of the mutual-TLS endpoint they call "
            + "after joining (needs PostgreSQL; see docs/cluster.md).")
    @Nullable Integer clusterPort;

    @Option(names = "--role", paramLabel = "all|control", description = "all (default): serve deployments here; "
            + "control: place text models' replicas on the workers that joined (needs --cluster-port and PostgreSQL).")
    @Nullable String role;

    @Option(names = "--site", paramLabel = "DIR", description = "The site's own material (keys, CAs, model blobs), "
            + "shared by every control-plane replica of one factory (default: the home).")
    @Nullable Path site;

    @Option(names = "--accept-broken-audit", description = "Start even if the audit chain does not verify (the "
            + "start refuses otherwise). The acceptance is recorded in the chain, and /health/ready and the "
            + "sovereignty report show the break.")
    boolean acceptBrokenAudit;

    @Override
    public Integer call() throws InterruptedException {
        Map<Setting, String> flags = new EnumMap<>(Setting.class);
        if (port != null) {
            flags.put(Setting.PORT, port.toString());
        }
        if (host != null) {
            flags.put(Setting.HOST, host);
        }
        if (dbUrl != null) {
            flags.put(Setting.DB_URL, dbUrl);
        }
        if (tls) {
            flags.put(Setting.TLS_ENABLED, "true");
        }
        if (clusterPort != null) {
            flags.put(Setting.CLUSTER_PORT, clusterPort.toString());
        }
        if (role != null) {
            flags.put(Setting.CLUSTER_ROLE, role);
        }
        if (site != null) {
            flags.put(Setting.CLUSTER_SITE, site.toString());
        }
        FactoryConfig config = ConfigLoader.fromSystem().load(home, flags);
        Factory factory = Factory.start(config, Factory.Options.DEFAULTS.withAcceptBrokenAudit(acceptBrokenAudit)
                .withLeadershipLost(() -> {
                    // Fail-stop: what this replica started as the leader (a fine-tuning job, imports) cannot be taken
                    // back safely while another leads. Its supervisor starts it again, as a follower.
                    System.err.println("factory: this control-plane replica lost its leadership (its database lock's "
                            + "connection broke); stopping, to start again as a follower");
                    Thread.ofPlatform().name("leadership-lost").start(() -> System.exit(LEADERSHIP_LOST));
                }));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("factory: shutting down (finishing in-flight requests)...");
            factory.close();
            stopped.countDown();
        }, "factory-shutdown"));
        System.out.println("Factory ready at " + factory.url() + "  (home " + config.home() + ")");
        System.out.println("Console at " + factory.url() + "/console/ (sign in with an API key"
                + (config.oidc().flatMap(o -> o.clientId()).isPresent() ? " or through the identity provider)" : ")"));
        factory.newAdminKey().ifPresent(key -> {
            System.out.println();
            System.out.println("Admin API key, shown once (also saved to " + config.adminKeyFile() + ", mode 0600):");
            System.out.println("  " + key);
            System.out.println();
        });
        factory.newSiteCaFingerprint().ifPresent(fingerprint -> {
            System.out.println("Created the site CA that issues this server's TLS certificate; give clients "
                    + factory.siteCaCertificate().orElseThrow() + " to trust (docs/tls.md). Its SHA-256 fingerprint, "
                    + "shown once:");
            System.out.println("  " + fingerprint);
            System.out.println();
        });
        String cacert = factory.siteCaCertificate().map(ca -> "--cacert " + ca + " ").orElse("");
        System.out.println("Try: curl " + cacert + factory.url() + "/v1/embeddings -H \"Authorization: Bearer $(cat "
                + config.adminKeyFile() + ")\" -H 'Content-Type: application/json' "
                + "-d '{\"model\": \"builtin/all-minilm-l6-v2\", \"input\": \"hello\"}'");
        stopped.await();
        return 0;
    }
}
