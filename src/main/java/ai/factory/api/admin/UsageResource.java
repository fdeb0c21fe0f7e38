package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.api.Access;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.UsageWire;
import ai.factory.api.codec.admin.UsageWire.UsageReport;
import ai.factory.security.Action;
import ai.factory.tenancy.Projects;
import ai.factory.security.Resource;
import ai.factory.security.audit.AuditStore;
import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.codec.WireJson;
import ai.factory.quotas.Chargeback;
import ai.factory.quotas.UsageRollups;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What projects consumed: {@code GET /api/v1/usage[?project=&from=&to=]}, inference requests, tokens and bytes by
 * project and model, summed from the audit trail (so a project's usage is as tamper-evident as its records). A
 * project admin sees its own project, auditors and admins every project, deleted ones included.
 */
public final class UsageResource implements Routes {
    private static final Set<String> PARAMS = Set.of("project", "from", "to");

    private static final Set<String> EXPORT_PARAMS = Set.of("project", "from", "to", "by", "period", "format");
    private static final Set<String> CHARGEBACK_PARAMS = Set.of("project", "from", "to", "format");
    private static final List<String> COLUMNS = List.of("requests", "errors", "promptTokens", "completionTokens",
            "replicaSeconds", "acceleratorSeconds");

    private final AuditStore store;
    private final UsageRollups rollups;
    private final Chargeback chargeback;
    private final Access access;
    private final Clock clock;

    public UsageResource(AuditStore store, UsageRollups rollups, Chargeback chargeback, Access access, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.rollups = requireNonNull(rollups, "rollups is null");
        this.chargeback = requireNonNull(chargeback, "chargeback is null");
        this.access = requireNonNull(access, "access is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.get("/api/v1/usage", Action.READ_USAGE, Contract.of(
                "Inference requests, tokens and bytes by project and model, from the audit trail", null,
                UsageReport.class), this::usage);
        routes.get("/api/v1/usage/export", Action.READ_USAGE, Contract.of("Usage from the hourly and daily rollups, "
                + "by project, key, model and priority, per hour or day or in all; format=csv for CSV", null,
                UsageWire.Export.class), this::export);
        routes.get("/api/v1/usage/chargeback", Action.READ_USAGE, Contract.of("What each project owes for its "
                + "tokens and its replicas' time at the site's rates; format=csv for CSV", null,
                Chargeback.Report.class), this::chargeback);
        routes.get("/api/v1/usage/rates", Action.READ_USAGE, Contract.of("The site's chargeback rates", null,
                Chargeback.Rates.class), ctx -> ctx.json(chargeback.rates()));
        routes.put("/api/v1/usage/rates", Action.MANAGE_RATES, Contract.of("Set the site's chargeback rates "
                + "(replacing them)", Chargeback.Rates.class, Chargeback.Rates.class), ctx -> ctx.json(
                chargeback.setRates(WireJson.read(ctx.bodyAsBytes(), Chargeback.Rates.class),
                        Authentication.principal(ctx).id())));
    }

    /** The range asked for: by default from the start of this month (in the site's zone) to the end of this hour. */
    private Instant[] range(Context ctx) {
        Optional<Instant> from = siteTime(ctx, "from");
        Optional<Instant> to = siteTime(ctx, "to");
        AuditResource.checkRange(from, to);
        ZonedDateTime now = clock.instant().atZone(rollups.zone());
        return new Instant[] {from.orElseGet(() -> now.toLocalDate().withDayOfMonth(1).atStartOfDay(rollups.zone())
                .toInstant()), to.orElseGet(() -> now.truncatedTo(ChronoUnit.HOURS).plusHours(1).toInstant())};
    }

    /** A time, where a date alone ({@code 2026-12-01}) is its midnight in the site's zone, as the rollups' days are. */
    private Optional<Instant> siteTime(Context ctx, String name) {
        Optional<String> v = AuditResource.text(ctx, name);
        if (v.isPresent() && v.get().matches("\\d{4}-\\d{2}-\\d{2}")) {
            try {
                return Optional.of(java.time.LocalDate.parse(v.get()).atStartOfDay(rollups.zone()).toInstant());
            } catch (java.time.format.DateTimeParseException e) {
                throw FactoryException.invalidParam(name, "'" + name + "' is not a date: " + v.get());
            }
        }
        return AuditResource.time(ctx, name);
    }

    private static boolean csv(Context ctx) {
        String format = AuditResource.text(ctx, "format").orElse("json");
        return switch (format) {
            case "json" -> false;
            case "csv" -> true;
            default -> throw FactoryException.invalidParam("format", "'format' is json or csv, not '" + format + "'");
        };
    }

    /**
     * Usage by the dimensions asked for. A caller who may not read every project's usage sees its own: rows are read
     * by project too, the projects it may not read left out, and then summed to what was asked.
     */
    private void export(Context ctx) {
        AuditResource.checkParams(ctx, EXPORT_PARAMS);
        Optional<String> project = AuditResource.text(ctx, "project").map(Projects::checkName);
        project.ifPresent(p -> access.require(ctx, Action.READ_USAGE, new Resource.Project(p)));
        Instant[] range = range(ctx);
        Set<String> by = UsageRollups.dimensions(AuditResource.text(ctx, "by").orElse("project,model"));
        String period = AuditResource.text(ctx, "period").orElse(null);
        boolean csv = csv(ctx);
        Set<String> read = new LinkedHashSet<>(by);
        read.add("project");
        Map<String, Boolean> readable = new HashMap<>();
        Map<List<Object>, long[]> sums = new LinkedHashMap<>();
        for (UsageRollups.Row row : rollups.query(read, period, range[0], range[1], project)) {
            String p = row.dimensions().get("project");
            if (!readable.computeIfAbsent(p, x -> access.allows(ctx, Action.READ_USAGE, new Resource.Project(x)))) {
                continue;
            }
            List<Object> key = new ArrayList<>();
            key.add(row.start() == null ? "" : row.start());
            by.forEach(d -> key.add(row.dimensions().get(d)));
            long[] sum = sums.computeIfAbsent(key, k -> new long[COLUMNS.size()]);
            long[] v = {row.requests(), row.errors(), row.promptTokens(), row.completionTokens(), row.replicaSeconds(),
                    row.acceleratorSeconds()};
            for (int i = 0; i < v.length; i++) {
                sum[i] += v[i];
            }
        }
        List<UsageWire.ExportRow> rows = new ArrayList<>();
        sums.forEach((key, v) -> {
            Map<String, String> dims = new HashMap<>();
            int i = 1;
            for (String d : by) {
                dims.put(d, (String) key.get(i++));
            }
            rows.add(new UsageWire.ExportRow(key.getFirst() instanceof Instant at ? at : null, dims.get("project"),
                    dims.get("key"), dims.get("model"), dims.get("priority"), v[0], v[1], v[2], v[3], v[4], v[5]));
        });
        if (!csv) {
            ctx.json(new UsageWire.Export(range[0], range[1], period, rollups.zone().getId(), List.copyOf(by), rows));
            return;
        }
        StringBuilder out = new StringBuilder();
        List<String> header = new ArrayList<>();
        if (period != null) {
            header.add("start");
        }
        header.addAll(by);
        header.addAll(COLUMNS);
        out.append(String.join(",", header)).append("\r\n");
        for (UsageWire.ExportRow r : rows) {
            List<String> cells = new ArrayList<>();
            if (period != null) {
                cells.add(String.valueOf(r.start()));
            }
            Map<String, String> dims = new HashMap<>();
            dims.put("project", r.project());
            dims.put("key", r.key());
            dims.put("model", r.model());
            dims.put("priority", r.priority());
            by.forEach(d -> cells.add(cell(dims.get(d))));
            for (long n : new long[] {r.requests(), r.errors(), r.promptTokens(), r.completionTokens(),
                    r.replicaSeconds(), r.acceleratorSeconds()}) {
                cells.add(Long.toString(n));
            }
            out.append(String.join(",", cells)).append("\r\n");
        }
        ctx.contentType("text/csv; charset=utf-8").result(out.toString());
    }

    /** A CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. */
    private static String cell(@Nullable String value) {
        String v = value == null ? "" : value;
        return v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r")
                ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    private void chargeback(Context ctx) {
        AuditResource.checkParams(ctx, CHARGEBACK_PARAMS);
        Optional<String> project = AuditResource.text(ctx, "project").map(Projects::checkName);
        project.ifPresent(p -> access.require(ctx, Action.READ_USAGE, new Resource.Project(p)));
        Instant[] range = range(ctx);
        boolean csv = csv(ctx);
        Chargeback.Report all = chargeback.report(range[0], range[1], project);
        List<Chargeback.ProjectCharge> readable = all.projects().stream()
                .filter(c -> access.allows(ctx, Action.READ_USAGE, new Resource.Project(c.project()))).toList();
        Chargeback.Report report = new Chargeback.Report(all.from(), all.to(), all.currency(), readable,
                readable.stream().map(Chargeback.ProjectCharge::total).reduce(java.math.BigDecimal.ZERO,
                        java.math.BigDecimal::add));
        if (!csv) {
            ctx.json(report);
            return;
        }
        StringBuilder out = new StringBuilder("project,model,requests,promptTokens,completionTokens,tokens,"
                + "replicaHours,acceleratorHours,replicas,accelerators,total,currency\r\n");
        for (Chargeback.ProjectCharge c : report.projects()) {
            for (Chargeback.Line l : c.lines()) {
                out.append(String.join(",", cell(c.project()), cell(l.model()), Long.toString(l.requests()),
                        Long.toString(l.promptTokens()), Long.toString(l.completionTokens()), l.tokens().toPlainString(),
                        l.replicaHours().toPlainString(), l.acceleratorHours().toPlainString(),
                        l.replicas().toPlainString(), l.accelerators().toPlainString(), l.total().toPlainString(),
                        cell(report.currency()))).append("\r\n");
            }
        }
        ctx.contentType("text/csv; charset=utf-8").result(out.toString());
    }

    private void usage(Context ctx) {
        AuditResource.checkParams(ctx, PARAMS);
        Optional<String> project = AuditResource.text(ctx, "project").map(Projects::checkName);
        project.ifPresent(p -> access.require(ctx, Action.READ_USAGE, new Resource.Project(p)));
        Optional<Instant> from = AuditResource.time(ctx, "from");
        Optional<Instant> to = AuditResource.time(ctx, "to");
        AuditResource.checkRange(from, to);
        List<AuditStore.Usage> rows = store.usage(project, from, to).stream()
                .filter(u -> access.allows(ctx, Action.READ_USAGE, new Resource.Project(u.project())))
                .toList();
        ctx.json(new UsageReport(from.orElse(null), to.orElse(null), rows.stream().map(UsageResource::usage)
                .toList()));
    }

    private static UsageWire.Usage usage(AuditStore.Usage u) {
        return new UsageWire.Usage(u.project(), u.model(), u.requests(), u.failed(), u.promptTokens(),
                u.completionTokens(), u.bytesIn(), u.bytesOut());
    }
}
