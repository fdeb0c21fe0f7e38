package ai.factory.api.admin;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.Routes;
import ai.factory.api.codec.admin.SovereigntyWire;
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
        routes.get("/api/v1/sovereignty/report", Action.READ_AUDIT, Contract.of(
                "The security officer's summary: egress, classifications, keys, audit chain", null,
                SovereigntyWire.Report.class), ctx -> {
            ctx.queryParamMap().keySet().stream().findFirst().ifPresent(name -> {
                throw FactoryException.invalidParam(name, "unknown parameter '" + name + "'; this endpoint takes none");
            });
            ctx.json(report(report.build()));
        });
    }

    static SovereigntyWire.Report report(SovereigntyReport.Report r) {
        return new SovereigntyWire.Report(r.generatedAt(),
                new SovereigntyWire.Egress(r.egressAllow(), r.egressAttempts().stream()
                        .map(a -> new SovereigntyWire.Attempts(a.destination(), a.decision(), a.outcome(),
                                a.attempts(), a.bytesSent(), a.bytesReceived(), a.lastAt())).toList()),
                new SovereigntyWire.DataClassification(r.modelsByClassification()),
                r.keyProviders().stream().map(k -> new SovereigntyWire.KeyProvider(k.name(), k.kind(), k.algorithm(),
                        k.location(), k.protects())).toList(),
                r.projectKeys().stream().map(EncryptionResource::kek).toList(),
                AuditResource.verification(r.audit(), r.auditDropped()), AuditResource.startCheck(r.auditAtStart()),
                new SovereigntyWire.ModelSignatures(r.modelSignatures().policy(), r.modelSignatures().trustedSigners(),
                        r.modelSignatures().signedVersions(), r.modelSignatures().unsignedVersions(),
                        r.modelSignatures().projectPolicies(), r.modelSignatures().classificationPolicies()),
                new SovereigntyWire.Software(r.software().factory(), r.software().sbomSha256(),
                        r.software().llamaNatives()));
    }
}
