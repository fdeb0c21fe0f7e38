package ai.factory.api.codec.admin;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/** {@code GET /api/v1/usage}: inference requests, tokens and bytes by project and model. */
public final class UsageWire {
    private UsageWire() {}

    public record Usage(String project, String model, long requests, long failed, long promptTokens,
                        long completionTokens, long bytesIn, long bytesOut) {
        public Usage {
            requireNonNull(project, "project is null");
        }
    }

    /** @param from null when the range is open at that end; {@code to} likewise */
    public record UsageReport(@Nullable Instant from, @Nullable Instant to, List<Usage> usage) {
        public UsageReport {
            usage = List.copyOf(requireNonNull(usage, "usage is null"));
        }
    }

    /**
     * One row of {@code GET /api/v1/usage/export}: the dimensions asked for (the others left out) and, per hour or day,
     * the period's start.
     *
     * @param key the key's principal, as the audit trail names it ({@code ""} for replicas' time)
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record ExportRow(@Nullable Instant start, @Nullable String project, @Nullable String key,
                            @Nullable String model, @Nullable String priority, long requests, long errors,
                            long promptTokens, long completionTokens, long replicaSeconds, long acceleratorSeconds) {}

    /**
     * {@code GET /api/v1/usage/export}.
     *
     * @param period {@code hour} or {@code day}, or null for totals over the range
     * @param timeZone the zone hours and days are counted in
     */
    public record Export(Instant from, Instant to, @Nullable String period, String timeZone, List<String> by,
                         List<ExportRow> rows) {
        public Export {
            by = List.copyOf(by);
            rows = List.copyOf(rows);
        }
    }
}
