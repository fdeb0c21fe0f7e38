package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * TLS on the API port. On, the port speaks HTTPS only (h2 by ALPN beside HTTP/1.1), with either the site's own
 * certificate or one the factory issues from a site CA it creates under {@code $FACTORY_HOME/tls}.
 *
 * @param enabled whether the port speaks TLS instead of clear text
 * @param certificate the site's certificate (PEM, the server certificate first, then any intermediates); empty: a
 *     certificate is generated
 * @param key the certificate's private key (PEM: PKCS#8, or a traditional RSA or EC key; not encrypted)
 * @param names DNS names and IP addresses the generated certificate carries beside localhost, the loopback
 *     addresses, {@code server.host} and the machine's host name
 */
public record TlsConfig(boolean enabled, Optional<Path> certificate, Optional<Path> key, List<String> names) {
    private static final Pattern DNS_NAME = Pattern.compile(
            "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    public TlsConfig {
        requireNonNull(certificate, "certificate is null");
        requireNonNull(key, "key is null");
        names = List.copyOf(requireNonNull(names, "names is null"));
        if (certificate.isPresent() && key.isEmpty()) {
            throw new IllegalArgumentException("server.tls.certificate is set without server.tls.key (FACTORY_TLS_KEY): "
                    + "give the certificate's private key too");
        }
        if (key.isPresent() && certificate.isEmpty()) {
            throw new IllegalArgumentException("server.tls.key is set without server.tls.certificate "
                    + "(FACTORY_TLS_CERTIFICATE): give the certificate too");
        }
        if (!enabled && certificate.isPresent()) {
            throw new IllegalArgumentException("server.tls.certificate is set but server.tls.enabled is false: set "
                    + "server.tls.enabled to true to serve it (or remove the certificate)");
        }
        if (certificate.isPresent() && !names.isEmpty()) {
            throw new IllegalArgumentException("server.tls.names is for the generated certificate; with "
                    + "server.tls.certificate the site's certificate carries its own names");
        }
        for (String name : names) {
            if (!isHostName(name) && !isIpLiteral(name)) {
                throw new IllegalArgumentException("server.tls.names: '" + name + "' is neither a DNS name nor an IP address");
            }
        }
    }

    /** TLS off: the port speaks clear text. */
    public static TlsConfig off() {
        return new TlsConfig(false, Optional.empty(), Optional.empty(), List.of());
    }

    /** Whether the factory issues its own certificate (TLS on without a site certificate). */
    public boolean generated() {
        return enabled && certificate.isEmpty();
    }

    /** A DNS name a certificate may carry (a leading {@code *.} wildcard allowed). */
    public static boolean isHostName(String name) {
        return name.length() <= 253 && DNS_NAME.matcher(name).matches() && !IPV4.matcher(name).matches();
    }

    /** An IPv4 or IPv6 address literal (IPv6 without brackets), recognised without any name lookup. */
    public static boolean isIpLiteral(String name) {
        if (!IPV4.matcher(name).matches() && !name.contains(":")) {
            return false;
        }
        try {
            java.net.InetAddress.ofLiteral(name);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
