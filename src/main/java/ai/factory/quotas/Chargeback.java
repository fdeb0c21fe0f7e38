package ai.factory.quotas;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;

/**
 * What each project owes for what it used: the usage rollups priced at the site's rates (per million prompt and
 * output tokens, per model or by default, and per replica-hour and accelerator-hour of the project's deployments).
 */
public final class Chargeback {
    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);
    private static final BigDecimal HOUR = BigDecimal.valueOf(3600);

    private final Jdbi jdbi;
    private final UsageRollups usage;
    private final Clock clock;

    public Chargeback(Jdbi jdbi, UsageRollups usage, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.usage = requireNonNull(usage, "usage is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A price per million prompt (input) and output tokens. */
    public record TokenRate(BigDecimal inputPerMillion, BigDecimal outputPerMillion) {
        public TokenRate {
            required(inputPerMillion, "inputPerMillion");
            required(outputPerMillion, "outputPerMillion");
        }
    }

    private static void required(@Nullable BigDecimal value, String field) {
        if (value == null) {
            throw FactoryException.invalidParam(field, "'" + field + "' is required in every rate (0 for free)");
        }
        nonNegative(value, field);
    }

    /**
     * The site's rates.
     *
     * @param currency what the amounts are in ({@code EUR}); the factory does not convert
     * @param models the token rates of named models ({@code acme/tiny})
     * @param defaultRate the token rate of every other model, or null for none (free)
     * @param replicaHour the price of one replica running an hour (CPU replicas, and the host share of GPU ones)
     * @param acceleratorHour the price of one GPU held by a replica for an hour
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Rates(String currency, Map<String, TokenRate> models,
                        @com.fasterxml.jackson.annotation.JsonProperty("default") @Nullable TokenRate defaultRate,
                        @Nullable BigDecimal replicaHour, @Nullable BigDecimal acceleratorHour) {
        public static final Rates NONE = new Rates("", Map.of(), null, null, null);

        public Rates {
            if (currency == null || currency.length() > 16) {
                throw FactoryException.invalidParam("currency", "'currency' is required, at most 16 characters "
                        + "(EUR, USD, credits)");
            }
            models = Map.copyOf(models == null ? Map.of() : models);
            for (Map.Entry<String, TokenRate> e : models.entrySet()) {
                if (e.getValue() == null) {
                    throw FactoryException.invalidParam("models." + e.getKey(), "a model's rate is "
                            + "{\"inputPerMillion\": N, \"outputPerMillion\": N}");
                }
            }
            nonNegative(replicaHour, "replicaHour");
            nonNegative(acceleratorHour, "acceleratorHour");
        }

        TokenRate rate(String model) {
            TokenRate r = models.get(model);
            return r != null ? r : defaultRate != null ? defaultRate : new TokenRate(BigDecimal.ZERO, BigDecimal.ZERO);
        }
    }

    private static void nonNegative(@Nullable BigDecimal value, String field) {
        if (value != null && value.signum() < 0) {
            throw FactoryException.invalidParam(field, "'" + field + "' must not be negative: " + value);
        }
    }

    /** The rates set, or {@link Rates#NONE}. */
    public Rates rates() {
        return jdbi.withHandle(h -> h.createQuery("SELECT document FROM chargeback_rates WHERE name = 'site'")
                .mapTo(String.class).findOne()).map(Chargeback::parse).orElse(Rates.NONE);
    }

    private static Rates parse(String document) {
        try {
            return Json.mapper().readValue(document, Rates.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the stored chargeback rates do not parse", e);
        }
    }

    /** Sets the site's rates, replacing the ones before. */
    public Rates setRates(Rates rates, String by) {
        String document;
        try {
            document = Json.mapper().writeValueAsString(requireNonNull(rates, "rates is null"));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("rates are plain JSON", e);
        }
        Timestamp at = Timestamp.from(clock.instant());
        jdbi.useTransaction(h -> {
            if (h.createUpdate("UPDATE chargeback_rates SET document = :d, updated_at = :at, updated_by = :by "
                    + "WHERE name = 'site'").bind("d", document).bind("at", at).bind("by", by).execute() == 0) {
                h.createUpdate("INSERT INTO chargeback_rates (name, document, updated_at, updated_by) VALUES "
                        + "('site', :d, :at, :by)").bind("d", document).bind("at", at).bind("by", by).execute();
            }
        });
        return rates;
    }

    /** One model's use by a project, and its price. */
    public record Line(String model, long requests, long promptTokens, long completionTokens, BigDecimal tokens,
                       BigDecimal replicaHours, BigDecimal acceleratorHours, BigDecimal replicas,
                       BigDecimal accelerators, BigDecimal total) {}

    /** A project's lines and what it owes in all. */
    public record ProjectCharge(String project, List<Line> lines, BigDecimal total) {}

    /** The chargeback of {@code [from, to)}: per project, per model, and the site's total. */
    public record Report(Instant from, Instant to, String currency, List<ProjectCharge> projects, BigDecimal total) {}

    /** The chargeback of {@code [from, to)}, of one project when given, at the rates set now. */
    public Report report(Instant from, Instant to, Optional<String> project) {
        Rates rates = rates();
        Map<String, List<Line>> byProject = new LinkedHashMap<>();
        for (UsageRollups.Row row : usage.query(Set.of("project", "model"), null, from, to, project)) {
            String model = row.dimensions().getOrDefault("model", "");
            TokenRate rate = rates.rate(model);
            BigDecimal tokens = rate.inputPerMillion().multiply(BigDecimal.valueOf(row.promptTokens()))
                    .add(rate.outputPerMillion().multiply(BigDecimal.valueOf(row.completionTokens())))
                    .divide(MILLION, 6, RoundingMode.HALF_UP);
            BigDecimal replicaHours = BigDecimal.valueOf(row.replicaSeconds()).divide(HOUR, 6, RoundingMode.HALF_UP);
            BigDecimal acceleratorHours = BigDecimal.valueOf(row.acceleratorSeconds()).divide(HOUR, 6,
                    RoundingMode.HALF_UP);
            BigDecimal replicas = price(replicaHours, rates.replicaHour());
            BigDecimal accelerators = price(acceleratorHours, rates.acceleratorHour());
            byProject.computeIfAbsent(row.dimensions().getOrDefault("project", ""), p -> new ArrayList<>()).add(new Line(model,
                    row.requests(), row.promptTokens(), row.completionTokens(), money(tokens), replicaHours,
                    acceleratorHours, money(replicas), money(accelerators), money(tokens.add(replicas)
                    .add(accelerators))));
        }
        List<ProjectCharge> projects = new ArrayList<>();
        BigDecimal total = BigDecimal.ZERO;
        for (Map.Entry<String, List<Line>> e : byProject.entrySet()) {
            BigDecimal sum = e.getValue().stream().map(Line::total).reduce(BigDecimal.ZERO, BigDecimal::add);
            projects.add(new ProjectCharge(e.getKey(), e.getValue(), money(sum)));
            total = total.add(sum);
        }
        return new Report(from, to, rates.currency(), projects, money(total));
    }

    private static BigDecimal price(BigDecimal hours, @Nullable BigDecimal rate) {
        return rate == null ? BigDecimal.ZERO : hours.multiply(rate);
    }

    /** An amount to four decimals: prices per million tokens make fractions of a cent. */
    private static BigDecimal money(BigDecimal amount) {
        return amount.setScale(4, RoundingMode.HALF_UP);
    }
}
