package ai.factory.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory deployments …}: what is deployed. */
@Command(name = "deployments", mixinStandardHelpOptions = true, description = "List and delete deployments.",
        subcommands = {DeploymentsCommand.ListDeployments.class, DeploymentsCommand.Delete.class})
final class DeploymentsCommand {
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List deployments and their states.")
    static final class ListDeployments implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            JsonNode result = client.client().get("/api/v1/deployments");
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "MODEL", "STATE", "REPLICAS", "PARALLEL", "CONTEXT", "REASON");
            for (JsonNode d : result.path("deployments")) {
                table.row(d.path("id").asText(), d.path("model").asText() + ":" + d.path("version").asInt(),
                        d.path("state").asText(), d.path("replicas").asInt(), d.path("parallel").asInt(),
                        d.path("context").asInt() == 0 ? "model" : d.path("context").asText(),
                        d.path("reason").isNull() ? "" : d.path("reason").asText());
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Unload a deployment (admin only).")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            JsonNode d = client.client().delete("/api/v1/deployments/" + id);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, d);
            } else {
                out.println("Deleted deployment " + d.path("id").asText() + " of " + d.path("model").asText());
                out.flush();
            }
            return 0;
        }
    }
}
