package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * Where the factory keeps the TLS material it generates when TLS is on without a site certificate:
 * {@code $FACTORY_HOME/tls/} (0700), holding the site CA ({@code ca.pem}, and its key {@code ca.key}, 0600) and the
 * server certificate it issues ({@code server.pem}, and its key {@code server.key}, 0600).
 */
public record TlsFiles(Path dir) {
    public TlsFiles {
        requireNonNull(dir, "dir is null");
    }

    /** The files under a factory home. */
    public static TlsFiles under(Path home) {
        return new TlsFiles(home.resolve("tls"));
    }

    /** The site CA's certificate (PEM): what clients trust. */
    public Path caCertificate() {
        return dir.resolve("ca.pem");
    }

    /** The site CA's private key (PKCS#8 PEM, 0600); it signs the server certificate. */
    public Path caKey() {
        return dir.resolve("ca.key");
    }

    /** The server certificate the site CA issued, followed by the CA's (PEM). */
    public Path certificate() {
        return dir.resolve("server.pem");
    }

    /** The server certificate's private key (PKCS#8 PEM, 0600). */
    public Path key() {
        return dir.resolve("server.key");
    }
}
