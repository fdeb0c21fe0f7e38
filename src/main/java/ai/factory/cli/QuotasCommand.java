package ai.factory.cli;

import ai.factory.api.codec.admin.QuotaWire.Quota;
import ai.factory.api.codec.admin.QuotaWire.QuotaList;
import ai.factory.api.codec.admin.QuotaWire.SetQuota;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code factory quotas …}: limits on what projects and their keys use. */
@Command(name = "quotas", mixinStandardHelpOptions = true,
        description = "Limit what projects and their keys use: requests and tokens per minute, concurrent calls, "
                + "token budgets per day and month, on every model or one; and their calls' priority class.")
final class QuotasCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(SetCommand.class, Show.class, Delete.class);

    /** The scope options every subcommand but show takes. */
    static final class Scope {
        @Parameters(index = "0", paramLabel = "PROJECT", description = "The project.")
        String project;

        @Option(names = "--key-id", paramLabel = "ID", description = "One of the project's keys (its id, as 'factory "
                + "keys list' shows it), within the project's limits.")
        @Nullable String key;

        @Option(names = "--model", paramLabel = "NS/MODEL", description = "Only calls to this model.")
        @Nullable String model;

        boolean matches(Quota q) {
            return q.project().equals(project) && (Objects.equals(q.key(), key) || key != null
                    && key.equals(q.principal())) && Objects.equals(q.model(), model);
        }

        String query() {
            return "project=" + encode(project) + (key == null ? "" : "&key=" + encode(key))
                    + (model == null ? "" : "&model=" + encode(model));
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = "Set limits of a project, one of its keys, or either on one model. Limits not named keep "
                    + "their values; 'none' removes one. A project's own limits are set by admins, its keys' by its "
                    + "project admins too, within the project's.")
    static final class SetCommand implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;
        @Mixin Scope scope;

        @Option(names = "--rpm", paramLabel = "N|none", description = "Requests per minute.") @Nullable String rpm;
        @Option(names = "--tpm", paramLabel = "N|none", description = "Tokens per minute, prompt and output together.")
        @Nullable String tpm;
        @Option(names = "--concurrency", paramLabel = "N|none", description = "Calls running at once.")
        @Nullable String concurrency;
        @Option(names = "--tokens-per-day", paramLabel = "N|none", description = "Token budget per day (site's zone).")
        @Nullable String tokensPerDay;
        @Option(names = "--tokens-per-month", paramLabel = "N|none",
                description = "Token budget per month (site's zone).")
        @Nullable String tokensPerMonth;
        @Option(names = "--priority", paramLabel = "interactive|batch|none",
                description = "Priority class of calls that ask for none.")
        @Nullable String priority;
        @Option(names = "--accelerators", paramLabel = "N|none",
                description = "The most accelerators (GPUs) the project's replicas may hold at once, on this machine or "
                        + "across a cluster's workers; 0 keeps them on CPUs (a project's own quota only).")
        @Nullable String accelerators;

        @Override
        public Integer call() {
            Quota now = client.client().get("/api/v1/quotas?project=" + encode(scope.project), QuotaList.class)
                    .quotas().stream().filter(scope::matches).findFirst().orElse(null);
            SetQuota body = new SetQuota(scope.project, scope.key, scope.model,
                    number(rpm, "--rpm", now == null ? null : now.rpm()),
                    number(tpm, "--tpm", now == null ? null : now.tpm()),
                    integer(concurrency, "--concurrency", now == null ? null : now.concurrency()),
                    number(tokensPerDay, "--tokens-per-day", now == null ? null : now.tokensPerDay()),
                    number(tokensPerMonth, "--tokens-per-month", now == null ? null : now.tokensPerMonth()),
                    text(priority, now == null ? null : now.priority()),
                    integer(accelerators, "--accelerators", now == null ? null : now.accelerators()));
            Quota set = client.client().putJson("/api/v1/quotas", body, Quota.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, set);
            } else {
                out.printf("Quota of %s: %s%n", who(set), limits(set));
                out.flush();
            }
            return 0;
        }

        private @Nullable Long number(@Nullable String given, String option, @Nullable Long now) {
            return parsed(given, now, v -> {
                try {
                    return Long.parseLong(v.replace("_", ""));
                } catch (NumberFormatException e) {
                    throw new ParameterException(spec.commandLine(), option + " takes a whole number or 'none': " + v);
                }
            });
        }

        private @Nullable Integer integer(@Nullable String given, String option, @Nullable Integer now) {
            Long n = number(given, option, now == null ? null : now.longValue());
            if (n != null && (n > Integer.MAX_VALUE || n < Integer.MIN_VALUE)) {
                throw new ParameterException(spec.commandLine(), option + " is at most " + Integer.MAX_VALUE);
            }
            return n == null ? null : n.intValue();
        }

        private static @Nullable String text(@Nullable String given, @Nullable String now) {
            return parsed(given, now, v -> v);
        }

        private static <T> @Nullable T parsed(@Nullable String given, @Nullable T now, Function<String, T> parse) {
            if (given == null) {
                return now;
            }
            return given.equalsIgnoreCase("none") ? null : parse.apply(given.strip());
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "The quotas you may read, with what each budget spent this day and month.")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(index = "0", arity = "0..1", paramLabel = "PROJECT", description = "Only this project.")
        @Nullable String project;

        @Override
        public Integer call() {
            QuotaList list = client.client().get("/api/v1/quotas" + (project == null ? "" : "?project="
                    + encode(project)), QuotaList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, list);
                return 0;
            }
            Table table = new Table("PROJECT", "KEY", "MODEL", "RPM", "TPM", "CONCURRENCY", "TOKENS/DAY (SPENT)",
                    "TOKENS/MONTH (SPENT)", "PRIORITY", "ACCELERATORS");
            for (Quota q : list.quotas()) {
                table.row(q.project(), or(q.key(), "*"), or(q.model(), "*"), or(q.rpm(), "-"), or(q.tpm(), "-"),
                        or(q.concurrency(), "-"), budget(q.tokensPerDay(), q.spentToday()),
                        budget(q.tokensPerMonth(), q.spentThisMonth()), or(q.priority(), "-"),
                        or(q.accelerators(), "-"));
            }
            table.print(out);
            out.printf("Budgets count days and months in %s.%n", list.timeZone());
            out.flush();
            return 0;
        }

        private static String budget(@Nullable Long limit, @Nullable Long spent) {
            return limit == null ? "-" : limit + " (" + (spent == null ? 0 : spent) + ")";
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Remove the quota of a scope.")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;
        @Mixin Scope scope;

        @Override
        public Integer call() {
            Quota removed = client.client().delete("/api/v1/quotas?" + scope.query(), Quota.class);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("Removed the quota of %s (it was: %s)%n", who(removed), limits(removed));
            out.flush();
            return 0;
        }
    }

    private static String who(Quota q) {
        return (q.key() == null ? "project " + q.project() : "key " + q.key() + " of project " + q.project())
                + (q.model() == null ? "" : " on model " + q.model());
    }

    private static String limits(Quota q) {
        StringBuilder s = new StringBuilder();
        append(s, "rpm", q.rpm());
        append(s, "tpm", q.tpm());
        append(s, "concurrency", q.concurrency());
        append(s, "tokens per day", q.tokensPerDay());
        append(s, "tokens per month", q.tokensPerMonth());
        append(s, "priority", q.priority());
        append(s, "accelerators", q.accelerators());
        return s.isEmpty() ? "no limits" : s.toString();
    }

    private static void append(StringBuilder s, String name, @Nullable Object value) {
        if (value != null) {
            s.append(s.isEmpty() ? "" : ", ").append(name).append(' ').append(value);
        }
    }

    private static String or(@Nullable Object value, String none) {
        return value == null ? none : value.toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
