package ai.factory.config;

import static java.util.Objects.requireNonNull;

import java.time.ZoneId;

/**
 * How quotas are counted.
 *
 * @param timeZone the site's time zone: budget days and months begin at its midnight
 */
public record QuotasConfig(ZoneId timeZone) {
    public QuotasConfig {
        requireNonNull(timeZone, "timeZone is null");
    }

    /** Budgets counted in the machine's own time zone. */
    public static QuotasConfig defaults() {
        return new QuotasConfig(ZoneId.systemDefault());
    }
}
