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
 * @param accelerators the most accelerators (GPUs) the project's replicas may hold at once, on one machine or across
 *     a cluster's workers; 0 keeps them on CPUs. A project's own quota only: calls are not counted by it
 */
public record Limits(@Nullable Long rpm, @Nullable Long tpm, @Nullable Integer concurrency,
                     @Nullable Long tokensPerDay, @Nullable Long tokensPerMonth, @Nullable Priority priority,
                     @Nullable Integer accelerators) {
    /** The largest value a limit takes: 10^15, far above any real one and safe from overflow when summed. */
    public static final long MAX = 1_000_000_000_000_000L;
    /** The most accelerators a quota names. */
    public static final int MAX_ACCELERATORS = 1_000_000;

    public static final Limits NONE = new Limits(null, null, null, null, null, null, null);

    public Limits {
        check("rpm", rpm);
        check("tpm", tpm);
        check("concurrency", concurrency == null ? null : concurrency.longValue());
        check("tokensPerDay", tokensPerDay);
        check("tokensPerMonth", tokensPerMonth);
        if (accelerators != null && (accelerators < 0 || accelerators > MAX_ACCELERATORS)) {
            throw FactoryException.invalidParam("accelerators", "'accelerators' must be between 0 (CPUs only) and "
                    + MAX_ACCELERATORS + " (leave it out for no limit): " + accelerators);
        }
    }

    /** Limits on calls alone, with no accelerator limit. */
    public Limits(@Nullable Long rpm, @Nullable Long tpm, @Nullable Integer concurrency, @Nullable Long tokensPerDay,
                  @Nullable Long tokensPerMonth, @Nullable Priority priority) {
        this(rpm, tpm, concurrency, tokensPerDay, tokensPerMonth, priority, null);
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
