package ai.factory.security.tls;

import ai.factory.config.ServerConfig;
import ai.factory.config.TlsConfig;
import ai.factory.config.TlsFiles;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What the API port presents when TLS is on: the site's own certificate, or one issued by the site CA the factory
 * keeps under {@code $FACTORY_HOME/tls}. Read (or made) before anything else starts, so a TLS setting that cannot work
 * fails the start with the setting and file named.
 */
public final class ServerTls {
    private static final Logger LOG = LoggerFactory.getLogger(ServerTls.class);

    /**
     * @param newCaFingerprint the SHA-256 fingerprint of the site CA when this start created it; shown once
     * @param siteCa the generated site CA's certificate file clients trust; empty with the site's own certificate
     */
    public record Prepared(ServerIdentity identity, Optional<String> newCaFingerprint, Optional<Path> siteCa) {}

    private ServerTls() {}

    /** The server's TLS identity, or empty when TLS is off. */
    public static Optional<Prepared> prepare(ServerConfig server, TlsFiles files, Clock clock) {
        TlsConfig tls = server.tls();
        if (!tls.enabled()) {
            return Optional.empty();
        }
        if (tls.certificate().isPresent()) {
            ServerIdentity identity = ServerIdentity.fromPem(tls.certificate().get(), tls.key().orElseThrow());
            warnIfNearItsEnd(identity.certificate(), tls.certificate().get(), clock.instant());
            LOG.info("TLS with the site certificate {} ({})", tls.certificate().get(),
                    identity.certificate().getSubjectX500Principal().getName());
            return Optional.of(new Prepared(identity, Optional.empty(), Optional.empty()));
        }
        GeneratedCertificates.Outcome outcome = new GeneratedCertificates(files, clock)
                .loadOrCreate(names(server.host(), tls.names(), machineHostName()));
        return Optional.of(new Prepared(outcome.identity(), outcome.newCaFingerprint(), Optional.of(files.caCertificate())));
    }

    /** The names a generated certificate for {@code server} carries (see below). */
    public static Set<String> names(ServerConfig server) {
        return names(server.host(), server.tls().names(), machineHostName());
    }

    /**
     * The names a generated certificate carries: localhost and the loopback addresses (what local clients dial),
     * the bound address unless it is a wildcard, the machine's host name, and the site's extra names.
     */
    static Set<String> names(String host, List<String> extra, Optional<String> hostName) {
        Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
        String bound = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (!isWildcard(bound) && (TlsConfig.isHostName(bound) || TlsConfig.isIpLiteral(bound))) {
            names.add(bound);
        }
        hostName.filter(TlsConfig::isHostName).ifPresent(names::add);
        names.addAll(extra);
        return GeneratedCertificates.normalized(names);
    }

    /** Whether {@code host} means every address of the machine. */
    public static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") || host.equals("*");
    }

    /** The machine's host name, if the system knows one (no lookup beyond what the JDK does for it). */
    private static Optional<String> machineHostName() {
        try {
            return Optional.of(InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT));
        } catch (UnknownHostException e) {
            LOG.debug("no host name for the TLS certificate: {}", e.getMessage());
            return Optional.empty();
        }
    }

    private static void warnIfNearItsEnd(X509Certificate certificate, Path file, Instant now) {
        Instant end = certificate.getNotAfter().toInstant();
        if (end.isBefore(now)) {
            LOG.warn("the TLS certificate in {} expired on {}: clients will refuse it; renew it and restart", file,
                    end);
        } else if (end.isBefore(now.plus(GeneratedCertificates.RENEW_BEFORE))) {
            LOG.warn("the TLS certificate in {} expires on {}; renew it and restart", file, end);
        }
    }
}
