package ai.factory.sovereignty;

import static java.util.Objects.requireNonNull;

import ai.factory.config.EgressPolicy;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.security.audit.AuditEvent;
import ai.factory.security.audit.AuditLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;

/**
 * The one way the factory itself connects out. Every attempt is checked against {@code egress.allow} and
 * recorded in the audit chain (action {@value #ACTION}: destination, purpose, bytes each way, allowed or refused)
 * before anything leaves; a refused one fails with a message naming the setting. Loopback is no exception.
 *
 * <p>Redirects are not followed, so an allowed destination cannot hand a request on to one that is not. A test
 * ({@code EgressScanTest}) fails the build if any other class in the server opens a socket or an HTTP connection.
 */
public final class Egress {
    public static final String ACTION = "egress.http";
    private static final Logger LOG = LoggerFactory.getLogger(Egress.class);

    private final EgressPolicy policy;
    private final AuditLog audit;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    public Egress(EgressPolicy policy, AuditLog audit, Clock clock) {
        this.policy = requireNonNull(policy, "policy is null");
        this.audit = requireNonNull(audit, "audit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public EgressPolicy policy() {
        return policy;
    }

    /**
     * Sends {@code request} if the policy allows its destination, recording the attempt either way.
     *
     * @param purpose why the factory connects out (kept in the ledger), e.g. {@code model catalogue sync}
     * @throws FactoryException FORBIDDEN when the policy refuses, UNAVAILABLE when the destination can't be reached
     */
    public HttpResponse<byte[]> send(HttpRequest request, String purpose) {
        requireNonNull(request, "request is null");
        if (purpose == null || purpose.isBlank()) {
            throw new IllegalArgumentException("every outbound connection needs a purpose for the ledger");
        }
        URI uri = request.uri();
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot connect out to '" + uri
                    + "': only http:// and https:// URLs with a host are supported");
        }
        int port = uri.getPort() != -1 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
        String destination = uri.getHost().toLowerCase(Locale.ROOT) + ":" + port;
        long bytesOut = request.bodyPublisher().map(HttpRequest.BodyPublisher::contentLength).orElse(0L);
        String detail = purpose + " (" + request.method() + " " + scheme + "://" + destination
                + (uri.getRawPath() == null ? "" : uri.getRawPath()) + ")";
        if (!policy.allows(uri.getHost(), port)) {
            audit.record(event(destination, AuditEvent.DENY, AuditEvent.FAILURE, 0, 0, 0, detail));
            LOG.warn("egress refused: {} for {}", destination, purpose);
            throw new FactoryException(ErrorCode.FORBIDDEN, "outbound connection to " + destination + " (" + purpose
                    + ") refused: it is not in egress.allow (" + policy + ")");
        }
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            audit.record(event(destination, AuditEvent.ALLOW,
                    response.statusCode() < 400 ? AuditEvent.SUCCESS : AuditEvent.FAILURE, response.statusCode(),
                    Math.max(0, bytesOut), response.body().length, detail));
            return response;
        } catch (IOException e) {
            audit.record(event(destination, AuditEvent.ALLOW, AuditEvent.FAILURE, 0, Math.max(0, bytesOut), 0,
                    detail + ": " + e));
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot reach " + destination + " (" + purpose + "): "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            audit.record(event(destination, AuditEvent.ALLOW, AuditEvent.FAILURE, 0, 0, 0, detail + ": interrupted"));
            throw new FactoryException(ErrorCode.UNAVAILABLE, "interrupted while connecting to " + destination, e);
        }
    }

    private AuditEvent event(String destination, String decision, String outcome, int status, long sent,
                             long received, String detail) {
        return new AuditEvent(clock.instant(), "system", "factory", "", ACTION, destination, decision, outcome, status,
                "factory", UUID.randomUUID().toString(), received, sent, 0, 0, detail);
    }
}
