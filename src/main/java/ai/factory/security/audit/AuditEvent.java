package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * What happened, before it takes its place in the chain: one authenticated call (or refused attempt), or one
 * outbound connection attempt. Metadata only; never prompt or output text.
 *
 * @param at when, truncated to microseconds (what both databases keep)
 * @param action what was asked: the authorizer's action name, else method and route template
 *     ({@code POST /v1/chat/completions}), or {@code egress.http} for an outbound connection
 * @param resource the route's path parameters ({@code model=acme/tiny}) or an egress destination
 * @param decision {@code allow} or {@code deny} (authentication or authorization refused, egress refused)
 * @param outcome {@code success} or {@code failure}
 * @param status the HTTP status answered (or received, for egress; 0 when no answer)
 * @param client the caller's address ({@code factory} for what the factory does itself)
 * @param detail what else is worth keeping: the purpose of an outbound connection
 */
public record AuditEvent(Instant at, String principalId, String principalName, String project, String action,
                         String resource, String decision, String outcome, int status, String client,
                         String requestId, long bytesIn, long bytesOut, long promptTokens, long completionTokens,
                         String detail) {
    public static final String ALLOW = "allow";
    public static final String DENY = "deny";
    public static final String SUCCESS = "success";
    public static final String FAILURE = "failure";

    public AuditEvent {
        at = requireNonNull(at, "at is null").truncatedTo(ChronoUnit.MICROS);
        principalId = clip(principalId, 64);
        principalName = clip(principalName, 200);
        project = clip(project, 200);
        action = clip(action, 300);
        resource = clip(resource, 2000);
        // Values are not checked against ALLOW/DENY or SUCCESS/FAILURE here: a tampered row must still read back,
        // so that verification can point at it.
        decision = clip(decision, 16);
        outcome = clip(outcome, 16);
        client = clip(client, 100);
        requestId = clip(requestId, 64);
        detail = clip(detail, 2000);
    }

    /** Keeps a field within its column, so a long value from a caller cannot fail the whole batch. */
    private static String clip(String s, int max) {
        String v = s == null ? "" : s;
        return v.length() <= max ? v : v.substring(0, max);
    }
}
