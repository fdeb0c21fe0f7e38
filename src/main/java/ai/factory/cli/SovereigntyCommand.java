package ai.factory.cli;

import ai.factory.Json;
import ai.factory.api.codec.admin.EncryptionWire;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code factory sovereignty report}: the security officer's summary (admin or auditor key). */
@Command(name = "sovereignty", mixinStandardHelpOptions = true, description = "Sovereignty: egress, data, keys, audit.",
        subcommands = {SovereigntyCommand.Report.class})
final class SovereigntyCommand {
    @Command(name = "report", mixinStandardHelpOptions = true, description = "Egress attempts by destination, data "
            + "classification of models, key providers in use, and whether the audit chain verifies.")
    static final class Report implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            JsonNode report = client.client().get("/api/v1/sovereignty/report");
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, report);
                return 0;
            }
            JsonNode egress = report.path("egress");
            out.println("Egress allowed to: " + (egress.path("allow").isEmpty() ? "(nothing: every outbound "
                    + "connection is refused)" : String.join(", ", egress.path("allow").valueStream()
                    .map(JsonNode::asText).toList())));
            Table attempts = new Table("DESTINATION", "DECISION", "OUTCOME", "ATTEMPTS", "SENT", "RECEIVED", "LAST");
            for (JsonNode a : egress.path("attempts")) {
                attempts.row(a.path("destination").asText(), a.path("decision").asText(), a.path("outcome").asText(),
                        a.path("attempts").asLong(), a.path("bytesSent").asLong(), a.path("bytesReceived").asLong(),
                        a.path("lastAt").asText());
            }
            if (attempts.size() == 0) {
                out.println("No outbound connection attempts recorded.");
            } else {
                attempts.print(out);
            }
            out.println();
            Table models = new Table("CLASSIFICATION", "MODELS");
            report.path("dataClassification").path("models").properties()
                    .forEach(e -> models.row(e.getKey(), e.getValue().asLong()));
            models.print(out);
            out.println();
            Table keys = new Table("KEY", "KIND", "ALGORITHM", "LOCATION", "PROTECTS");
            for (JsonNode k : report.path("keyProviders")) {
                keys.row(k.path("name").asText(), k.path("kind").asText(), k.path("algorithm").asText(),
                        k.path("location").asText(), k.path("protects").asText());
            }
            keys.print(out);
            out.println();
            EncryptionCommand.kekTable(List.of(Json.mapper().convertValue(report.path("projectKeys"),
                    EncryptionWire.Kek[].class))).print(out);
            out.println();
            JsonNode audit = report.path("audit");
            out.println(audit.path("ok").asBoolean()
                    ? "Audit chain: OK, " + audit.path("records").asLong() + " records, " + audit.path("digests").asLong()
                            + " signed digests, last digest " + (audit.path("lastDigestAt").isNull() ? "none yet"
                            : audit.path("lastDigestAt").asText())
                    : "Audit chain: BROKEN at record " + audit.path("problem").path("seq").asLong() + ": "
                            + audit.path("problem").path("message").asText());
            out.flush();
            return 0;
        }
    }
}
