package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import java.time.Duration;

/**
 * A call refused by a quota: {@code RATE_LIMITED} for a per-minute or concurrency limit (try again shortly),
 * {@code QUOTA_EXCEEDED} for a spent budget (try again when it renews). It names the limit that applied, for the
 * answer and the audit trail, and when a retry can succeed.
 */
public final class QuotaExceededException extends FactoryException {
    /** Which kind of limit refused the call. */
    public enum Kind {
        REQUESTS("requests per minute", "rpm"),
        TOKENS("tokens per minute", "tpm"),
        CONCURRENCY("concurrent calls", "concurrency"),
        DAY("tokens per day", "tokensPerDay"),
        MONTH("tokens per month", "tokensPerMonth");

        private final String label;
        private final String field;

        Kind(String label, String field) {
            this.label = label;
            this.field = field;
        }

        public String label() {
            return label;
        }

        /** The limit's field name in the quota API and the audit trail. */
        public String field() {
            return field;
        }

        /** Whether the limit is a budget, which a wait of seconds does not renew. */
        public boolean isBudget() {
            return this == DAY || this == MONTH;
        }
    }

    private final Kind kind;
    private final QuotaScope scope;
    private final long limit;
    private final Duration retryAfter;
    private final boolean retryable;
    private final LimitStatus status;

    QuotaExceededException(Kind kind, QuotaScope scope, long limit, Duration retryAfter, boolean retryable,
                           LimitStatus status, String message) {
        super(kind.isBudget() ? ErrorCode.QUOTA_EXCEEDED : ErrorCode.RATE_LIMITED, message);
        this.kind = requireNonNull(kind, "kind is null");
        this.scope = requireNonNull(scope, "scope is null");
        this.limit = limit;
        this.retryAfter = requireNonNull(retryAfter, "retryAfter is null");
        this.retryable = retryable;
        this.status = requireNonNull(status, "status is null");
    }

    public Kind kind() {
        return kind;
    }

    public QuotaScope scope() {
        return scope;
    }

    public long limit() {
        return limit;
    }

    /** How long until a retry of the same call can pass. */
    public Duration retryAfter() {
        return retryAfter;
    }

    /**
     * Whether retrying the same call can ever pass: false when the call alone needs more than the limit (its
     * tokens exceed the tokens per minute), and for a spent budget, which renews only when its period does.
     */
    public boolean retryable() {
        return retryable;
    }

    /** The per-minute limits as they stood, for the rate-limit headers. */
    public LimitStatus status() {
        return status;
    }

    /** The limit as the audit trail records it: {@code limit=project=acme,key=k1:rpm=50}. */
    public String auditDetail() {
        return "limit=" + scope.id() + ":" + kind.field() + "=" + limit;
    }
}
