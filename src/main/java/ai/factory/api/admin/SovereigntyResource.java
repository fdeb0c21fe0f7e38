package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Authentication;
import ai.factory.api.Routes;
import ai.factory.sovereignty.SovereigntyReport;
import io.javalin.config.RoutesConfig;

/** {@code GET /api/v1/sovereignty/report} (admin and auditor): the security officer's summary. */
public final class SovereigntyResource implements Routes {
    private final SovereigntyReport report;

    public SovereigntyResource(SovereigntyReport report) {
        this.report = requireNonNull(report, "report is null");
    }

    @Override
    public void addTo(RoutesConfig routes) {
        routes.get("/api/v1/sovereignty/report", ctx -> {
            Authentication.principal(ctx).requireAdminOrAuditor("reading the sovereignty report");
            ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                throw FactoryException.invalidParam(name, "unknown parameter '" + name + "'; this endpoint takes none");
            });
            ctx.json(report.build());
        });
    }
}
