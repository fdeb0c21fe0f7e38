package ai.factory.config;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The HTTP server.
 *
 * @param maxRequestBytes largest JSON body; model uploads are streamed and bounded by {@link ModelsConfig}
 * @param generationTimeout longest one text generation may run before it is stopped
 * @param tls whether the port speaks TLS, and with which certificate
 */
public record ServerConfig(String host, int port, Duration shutdownGrace, long maxRequestBytes,
                           Duration generationTimeout, TlsConfig tls, java.util.Optional<java.net.URI> publicUrl) {
    public ServerConfig {
        requireNonNull(publicUrl, "publicUrl is null");
        publicUrl.ifPresent(u -> {
            if (!("https".equals(u.getScheme()) || "http".equals(u.getScheme())) || u.getHost() == null
                    || (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/"))
                    || u.getRawQuery() != null) {
                throw new IllegalArgumentException("server.publicUrl is an http(s) URL with a host and no path, such "
                        + "as https://ai.example.org, not '" + u + "'");
            }
        });
        requireNonNull(host, "host is null");
        requireNonNull(tls, "tls is null");
        requireNonNull(shutdownGrace, "shutdownGrace is null");
        requireNonNull(generationTimeout, "generationTimeout is null");
        if (generationTimeout.isNegative() || generationTimeout.isZero()) {
            throw new IllegalArgumentException("server.generationTimeout must be positive");
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("server.host is empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("server.port must be 0..65535, not " + port);
        }
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("server.shutdownGrace must not be negative");
        }
        if (maxRequestBytes < 1024) {
            throw new IllegalArgumentException("server.maxRequestSize must be at least 1KiB");
        }
    }

    public ServerConfig withPort(int port) {
        return new ServerConfig(host, port, shutdownGrace, maxRequestBytes, generationTimeout, tls, publicUrl);
    }
}
