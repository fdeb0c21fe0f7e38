package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * A search of the audit trail, newest first. Empty filters match everything.
 *
 * @param principal a principal's id or name
 * @param from inclusive, {@code to} exclusive
 * @param limit 1 to {@link #MAX_LIMIT}
 */
public record AuditQuery(Optional<String> principal, Optional<String> project, Optional<String> action,
                         Optional<String> outcome, Optional<Instant> from, Optional<Instant> to, int limit) {
    public static final int DEFAULT_LIMIT = 100;
    public static final int MAX_LIMIT = 1000;

    public AuditQuery {
        requireNonNull(principal, "principal is null");
        requireNonNull(project, "project is null");
        requireNonNull(action, "action is null");
        requireNonNull(outcome, "outcome is null");
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1.." + MAX_LIMIT);
        }
    }

    /**
     * A time filter: an ISO-8601 instant ({@code 2026-11-25T13:00:00Z}) or a date ({@code 2026-11-25}, its UTC
     * midnight).
     *
     * @throws ai.factory.FactoryException INVALID_REQUEST naming {@code param} when it is neither
     */
    public static Instant parseTime(String param, String text) {
        try {
            return text.length() == 10 ? java.time.LocalDate.parse(text).atStartOfDay(java.time.ZoneOffset.UTC).toInstant()
                    : Instant.parse(text);
        } catch (java.time.format.DateTimeParseException e) {
            throw ai.factory.FactoryException.invalidParam(param, "'" + param + "' must be a time such as "
                    + "2026-11-25T13:00:00Z or a date such as 2026-11-25, not '" + text + "'");
        }
    }

    public static AuditQuery all(int limit) {
        return new AuditQuery(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), limit);
    }
}
