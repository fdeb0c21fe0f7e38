package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.UsageWire.Export;
import ai.factory.api.codec.admin.UsageWire.ExportRow;
import ai.factory.api.codec.admin.UsageWire.Usage;
import ai.factory.api.codec.admin.UsageWire.UsageReport;
import ai.factory.quotas.Chargeback;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factory usage}: what projects used. Without {@code --by}, {@code --period} or {@code --format}: requests and
 * tokens by project and model, summed from the audit trail; with them, the hourly and daily rollups broken down as
 * asked, as a table, CSV or JSON. {@code usage chargeback} prices them at the site's rates, {@code usage rates} shows
 * or sets those.
 */
@Command(name = "usage", mixinStandardHelpOptions = true,
        description = "What projects used: inference requests, failures and tokens (and replicas' time), by project, "
                + "key, model and priority, per hour or day or in all; as a table, CSV or JSON. Project admins see "
                + "their own project, auditors and admins all.")
final class UsageCommand implements Callable<Integer> {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(ChargebackCommand.class, Rates.class);

    @Spec CommandSpec spec;
    @Mixin ClientOptions client;

    @Option(names = "--project", description = "Only this project.") @Nullable String project;
    @Option(names = "--from", description = "From this time (2026-11-25 or 2026-11-25T13:00:00Z; with --by, --period "
            + "or --format the default is the start of this month).")
    @Nullable String from;
    @Option(names = "--to", description = "Before this time.") @Nullable String to;
    @Option(names = "--by", paramLabel = "DIMS", description = "Break down by these, comma-separated: project, key, "
            + "model, priority (default: project,model).")
    @Nullable String by;
    @Option(names = "--period", paramLabel = "hour|day", description = "A row per hour or per day (site's zone).")
    @Nullable String period;
    @Option(names = "--format", paramLabel = "table|csv|json", description = "How to print the breakdown (default "
            + "table; --json is json).")
    @Nullable String format;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (by == null && period == null && format == null) {
            List<String> params = new ArrayList<>();
            add(params, "project", project);
            add(params, "from", from);
            add(params, "to", to);
            UsageReport result = client.client().get("/api/v1/usage" + query(params), UsageReport.class);
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("PROJECT", "MODEL", "REQUESTS", "FAILED", "PROMPT TOKENS", "COMPLETION TOKENS",
                    "BYTES IN", "BYTES OUT");
            for (Usage u : result.usage()) {
                table.row(u.project(), String.valueOf(u.model()), u.requests(), u.failed(), u.promptTokens(),
                        u.completionTokens(), u.bytesIn(), u.bytesOut());
            }
            table.print(out);
            return 0;
        }
        String how = format != null ? format : client.json ? "json" : "table";
        List<String> params = new ArrayList<>();
        add(params, "project", project);
        add(params, "from", from);
        add(params, "to", to);
        add(params, "by", by);
        add(params, "period", period);
        switch (how) {
            case "csv" -> {
                add(params, "format", "csv");
                out.print(client.client().getText("/api/v1/usage/export" + query(params)));
            }
            case "json" -> ModelsCommand.printJson(out, client.client().get("/api/v1/usage/export" + query(params),
                    JsonNode.class));
            case "table" -> {
                Export export = client.client().get("/api/v1/usage/export" + query(params), Export.class);
                List<String> header = new ArrayList<>();
                if (export.period() != null) {
                    header.add(export.period().toUpperCase(java.util.Locale.ROOT));
                }
                export.by().forEach(d -> header.add(d.toUpperCase(java.util.Locale.ROOT)));
                header.addAll(List.of("REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS", "REPLICA S",
                        "ACCELERATOR S"));
                Table table = new Table(header.toArray(String[]::new));
                for (ExportRow r : export.rows()) {
                    List<Object> cells = new ArrayList<>();
                    if (export.period() != null) {
                        cells.add(String.valueOf(r.start()));
                    }
                    for (String d : export.by()) {
                        cells.add(switch (d) {
                            case "project" -> String.valueOf(r.project());
                            case "key" -> r.key() == null || r.key().isEmpty() ? "(replicas)" : r.key();
                            case "model" -> String.valueOf(r.model());
                            default -> r.priority() == null || r.priority().isEmpty() ? "-" : r.priority();
                        });
                    }
                    cells.addAll(List.of(r.requests(), r.errors(), r.promptTokens(), r.completionTokens(),
                            r.replicaSeconds(), r.acceleratorSeconds()));
                    table.row(cells.toArray());
                }
                table.print(out);
                out.printf("From %s to %s; hours and days in %s.%n", export.from(), export.to(), export.timeZone());
            }
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--format is table, csv or json, not '" + how + "'");
        }
        out.flush();
        return 0;
    }

    static void add(List<String> params, String name, @Nullable String value) {
        if (value != null) {
            params.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
        }
    }

    static String query(List<String> params) {
        return params.isEmpty() ? "" : "?" + String.join("&", params);
    }

    @Command(name = "chargeback", mixinStandardHelpOptions = true,
            description = "What each project owes for its tokens and its replicas' time, at the site's rates.")
    static final class ChargebackCommand implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Option(names = "--project", description = "Only this project.") @Nullable String project;
        @Option(names = "--from", description = "From this time (default: the start of this month).")
        @Nullable String from;
        @Option(names = "--to", description = "Before this time (default: the end of this hour).") @Nullable String to;
        @Option(names = "--format", paramLabel = "table|csv|json", description = "Default table; --json is json.")
        @Nullable String format;

        @Override
        public Integer call() {
            List<String> params = new ArrayList<>();
            add(params, "project", project);
            add(params, "from", from);
            add(params, "to", to);
            String how = format != null ? format : client.json ? "json" : "table";
            PrintWriter out = spec.commandLine().getOut();
            switch (how) {
                case "csv" -> {
                    add(params, "format", "csv");
                    out.print(client.client().getText("/api/v1/usage/chargeback" + query(params)));
                }
                case "json" -> ModelsCommand.printJson(out, client.client().get("/api/v1/usage/chargeback"
                        + query(params), JsonNode.class));
                case "table" -> {
                    Chargeback.Report report = client.client().get("/api/v1/usage/chargeback" + query(params),
                            Chargeback.Report.class);
                    Table table = new Table("PROJECT", "MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS",
                            "TOKENS", "REPLICA H", "ACCELERATOR H", "REPLICAS", "ACCELERATORS", "TOTAL");
                    for (Chargeback.ProjectCharge c : report.projects()) {
                        for (Chargeback.Line l : c.lines()) {
                            table.row(c.project(), l.model(), l.requests(), l.promptTokens(), l.completionTokens(),
                                    l.tokens().toPlainString(), l.replicaHours().toPlainString(),
                                    l.acceleratorHours().toPlainString(), l.replicas().toPlainString(),
                                    l.accelerators().toPlainString(), l.total().toPlainString());
                        }
                        table.row(c.project(), "(total)", "", "", "", "", "", "", "", "", c.total().toPlainString());
                    }
                    table.print(out);
                    out.printf("From %s to %s: %s %s in all.%n", report.from(), report.to(),
                            report.total().toPlainString(), report.currency().isEmpty() ? "(no rates set: 'factory "
                                    + "usage rates set FILE.json')" : report.currency());
                }
                default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--format is table, csv or json, not '" + how + "'");
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "rates", mixinStandardHelpOptions = true,
            description = "Show the site's chargeback rates, or set them from a JSON file (admins): {\"currency\": "
                    + "\"EUR\", \"models\": {\"ns/model\": {\"inputPerMillion\": 0.2, \"outputPerMillion\": 0.6}}, "
                    + "\"default\": {…}, \"replicaHour\": 0.05, \"acceleratorHour\": 2.5}.")
    static final class Rates implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(index = "0", arity = "0..1", paramLabel = "set", description = "'set' to set them.")
        @Nullable String action;
        @Parameters(index = "1", arity = "0..1", paramLabel = "FILE.json", description = "The rates to set.")
        @Nullable Path file;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            if (action == null) {
                ModelsCommand.printJson(out, client.client().get("/api/v1/usage/rates", JsonNode.class));
                return 0;
            }
            if (!action.equals("set") || file == null) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "usage: factory usage rates [set FILE.json]");
            }
            JsonNode rates;
            try {
                rates = Json.mapper().readTree(Files.readString(file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
            }
            ModelsCommand.printJson(out, client.client().putJson("/api/v1/usage/rates", rates, JsonNode.class));
            return 0;
        }
    }
}
