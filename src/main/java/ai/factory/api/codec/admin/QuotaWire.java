package ai.factory.api.codec.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** {@code /api/v1/quotas}: limits on what projects and their keys use. */
public final class QuotaWire {
    private QuotaWire() {}

    /**
     * {@code PUT /api/v1/quotas}: sets one scope's limits, replacing what it had; a limit left out is none.
     *
     * @param key a key's id (or its principal's), for a limit on that key alone (within the project's)
     * @param model a model's name ({@code ns/model}), for a limit on calls to that model alone
     * @param rpm requests per minute
     * @param tpm tokens per minute, prompt and output together
     * @param concurrency calls running at once
     * @param tokensPerDay tokens per day, in the site's time zone
     * @param tokensPerMonth tokens per month, in the site's time zone
     * @param priority {@code interactive} or {@code batch}: the class of calls that do not ask for one
     * @param accelerators the most accelerators (GPUs) the project's replicas may hold at once (a project's own quota
     *     only; 0: CPUs only)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SetQuota(String project, @Nullable String key, @Nullable String model, @Nullable Long rpm,
                           @Nullable Long tpm, @Nullable Integer concurrency, @Nullable Long tokensPerDay,
                           @Nullable Long tokensPerMonth, @Nullable String priority, @Nullable Integer accelerators) {
        public SetQuota {
            Required.field(project, "project");
        }
    }

    /**
     * A quota as set, with what its budgets spent in the current day and month (when it has them).
     *
     * @param key the key's id, or null for every key of the project
     * @param principal the key's principal, as calls and the audit trail name it
     * @param model the model, or null for every model
     * @param accelerators the most accelerators the project's replicas may hold at once
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Quota(String project, @Nullable String key, @Nullable String principal, @Nullable String model, @Nullable Long rpm,
                        @Nullable Long tpm, @Nullable Integer concurrency, @Nullable Long tokensPerDay,
                        @Nullable Long tokensPerMonth, @Nullable String priority, @Nullable Integer accelerators,
                        @Nullable Long spentToday, @Nullable Long spentThisMonth, Instant updatedAt,
                        String updatedBy) {
        public Quota {
            requireNonNull(project, "project is null");
        }
    }

    /** {@code GET /api/v1/quotas}. */
    public record QuotaList(String timeZone, List<Quota> quotas) {
        public QuotaList {
            quotas = List.copyOf(quotas);
        }
    }
}
