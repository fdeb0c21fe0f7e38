package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.security.Action;
import ai.factory.sovereignty.SovereigntyReport;

/** {@code GET /api/v1/sovereignty/report} (admin and auditor): the security officer's summary. */
public final class SovereigntyResource implements Routes {
    private final SovereigntyReport report;

    public SovereigntyResource(SovereigntyReport report) {
        this.report = requireNonNull(report, "report is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        // The report is assembled by SovereigntyReport, outside the API packages; it has no wire record yet.
        routes.get("/api/v1/sovereignty/report", Action.READ_AUDIT, Contract.of(
                "The security officer's summary: egress, classifications, keys, audit chain (untyped answer)", null,
                null), ctx -> {
            ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                throw FactoryException.invalidParam(name, "unknown parameter '" + name + "'; this endpoint takes none");
            });
            ctx.json(report.build());
        });
    }
}
