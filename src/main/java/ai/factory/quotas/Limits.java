package ai.factory.quotas;

import ai.factory.FactoryException;
import ai.factory.engine.Priority;
import org.jspecify.annotations.Nullable;

/**
 * What one scope may use; a null limit is none.
 *
 * @param rpm requests per minute
 * @param tpm tokens per minute, prompt and output together
 * @param concurrency calls running or waiting at once
 * @param tokensPerDay tokens per calendar day in the site's time zone
 * @param tokensPerMonth tokens per calendar month in the site's time zone
 * @param priority the priority class of calls that do not ask for one
 */
public record Limits(@Nullable Long rpm, @Nullable Long tpm, @Nullable Integer concurrency,
                     @Nullable Long tokensPerDay, @Nullable Long tokensPerMonth, @Nullable Priority priority) {
    /** The largest value a limit takes: 10^15, far above any real one and safe from overflow when summed. */
    public static final long MAX = 1_000_000_000_000_000L;

    public static final Limits NONE = new Limits(null, null, null, null, null, null);

    public Limits {
        check("rpm", rpm);
        check("tpm", tpm);
        check("concurrency", concurrency == null ? null : concurrency.longValue());
        check("tokensPerDay", tokensPerDay);
        check("tokensPerMonth", tokensPerMonth);
    }

    private static void check(String field, @Nullable Long value) {
        if (value != null && (value < 1 || value > MAX)) {
            throw FactoryException.invalidParam(field, "'" + field + "' must be at least 1 and at most " + MAX
                    + " (leave it out for no limit): " + value);
        }
    }

    /** Whether nothing is limited and no priority is set. */
    public boolean isEmpty() {
        return equals(NONE);
    }

    /** Whether any of the limits this call path counts is set (a priority alone limits nothing). */
    boolean limitsAnything() {
        return rpm != null || tpm != null || concurrency != null || tokensPerDay != null || tokensPerMonth != null;
    }
}
