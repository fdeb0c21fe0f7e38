package ai.factory.cli;

import ai.factory.api.codec.admin.AuditWire;
import ai.factory.api.codec.admin.SovereigntyWire;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code factory sovereignty report}: the security officer's summary (admin or auditor key). */
@Command(name = "sovereignty", mixinStandardHelpOptions = true, description = "Sovereignty: egress, data, keys, audit.")
final class SovereigntyCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Report.class);

    @Command(name = "report", mixinStandardHelpOptions = true, description = "Egress attempts by destination, data "
            + "classification of models, key providers in use, and whether the audit chain verifies.")
    static final class Report implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            SovereigntyWire.Report report = client.client().get("/api/v1/sovereignty/report",
                    SovereigntyWire.Report.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, report);
                return 0;
            }
            SovereigntyWire.Egress egress = report.egress();
            out.println("Egress allowed to: " + (egress.allow().isEmpty() ? "(nothing: every outbound "
                    + "connection is refused)" : String.join(", ", egress.allow())));
            Table attempts = new Table("DESTINATION", "DECISION", "OUTCOME", "ATTEMPTS", "SENT", "RECEIVED", "LAST");
            for (SovereigntyWire.Attempts a : egress.attempts()) {
                // String.valueOf: a missing value reads "null", as it always has in these tables.
                attempts.row(a.destination(), String.valueOf(a.decision()), String.valueOf(a.outcome()), a.attempts(),
                        a.bytesSent(), a.bytesReceived(), String.valueOf(a.lastAt()));
            }
            if (attempts.size() == 0) {
                out.println("No outbound connection attempts recorded.");
            } else {
                attempts.print(out);
            }
            out.println();
            Table models = new Table("CLASSIFICATION", "MODELS");
            report.dataClassification().models().forEach(models::row);
            models.print(out);
            out.println();
            Table keys = new Table("KEY", "KIND", "ALGORITHM", "LOCATION", "PROTECTS");
            for (SovereigntyWire.KeyProvider k : report.keyProviders()) {
                keys.row(k.name(), String.valueOf(k.kind()), String.valueOf(k.algorithm()), String.valueOf(k.location()),
                        String.valueOf(k.protects()));
            }
            keys.print(out);
            out.println();
            EncryptionCommand.kekTable(report.projectKeys()).print(out);
            out.println();
            SovereigntyWire.ModelSignatures signatures = report.modelSignatures();
            if (signatures != null) {
                out.println("Model signatures: policy " + signatures.policy() + ", trusting "
                        + signatures.trustedSigners() + "; " + signatures.signedVersions() + " model version(s) signed, "
                        + signatures.unsignedVersions() + " not");
                if (signatures.projectPolicies() != null && !signatures.projectPolicies().isEmpty()) {
                    out.println("  projects with their own policy: " + signatures.projectPolicies());
                }
                if (signatures.classificationPolicies() != null && !signatures.classificationPolicies().isEmpty()) {
                    out.println("  classifications with their own policy: " + signatures.classificationPolicies());
                }
                out.println();
            }
            SovereigntyWire.Software software = report.software();
            if (software != null) {
                out.println("Running " + software.factory() + "; SBOM sha256 " + (software.sbomSha256() == null
                        ? "(none in this build)" : software.sbomSha256()) + "; llama.cpp natives: "
                        + (software.llamaNatives() == null ? "none" : software.llamaNatives()));
                out.println();
            }
            AuditWire.Verification audit = report.audit();
            out.println(audit.ok()
                    ? "Audit chain: OK, " + audit.records() + " records, " + audit.digests()
                            + " signed digests, last digest " + (audit.lastDigestAt() == null ? "none yet"
                            : audit.lastDigestAt())
                    : "Audit chain: BROKEN at record " + (audit.problem() == null ? 0 : audit.problem().seq()) + ": "
                            + (audit.problem() == null ? "" : audit.problem().message()));
            AuditWire.StartCheck atStart = report.auditAtStart();
            if (atStart != null && !atStart.ok()) {
                out.println("Audit chain at start (" + atStart.at() + "): BROKEN at record "
                        + (atStart.problem() == null ? 0 : atStart.problem().seq()) + ": "
                        + (atStart.problem() == null ? "" : atStart.problem().message())
                        + (atStart.accepted() ? " (started anyway with --accept-broken-audit)" : ""));
            }
            out.flush();
            return 0;
        }
    }
}
