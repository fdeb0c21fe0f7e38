package ai.factory.cli;

import ai.factory.api.codec.admin.DeploymentWire.Deployment;
import ai.factory.api.codec.admin.DeploymentWire.DeploymentList;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory deployments …}: what is deployed. */
@Command(name = "deployments", mixinStandardHelpOptions = true, description = "List, scale and delete deployments.")
final class DeploymentsCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(ListDeployments.class, Scale.class, Delete.class);

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List deployments and their states.")
    static final class ListDeployments implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            DeploymentList result = client.client().get("/api/v1/deployments", DeploymentList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "MODEL", "STATE", "REPLICAS", "PARALLEL", "CONTEXT", "STEP TOKENS",
                    "KV CACHE", "PREFIX CACHE", "PRIORITY", "REASON");
            for (Deployment d : result.deployments()) {
                table.row(d.id(), d.model() + ":" + d.version(), d.state(), d.readyReplicas() == d.replicas()
                                ? String.valueOf(d.replicas()) : d.readyReplicas() + " of " + d.replicas(), d.parallel(),
                        d.context() == 0 ? "model" : String.valueOf(d.context()), d.stepTokens(), d.cacheType(),
                        d.prefixCache(), d.priority(), d.reason() == null ? "" : d.reason());
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "scale", mixinStandardHelpOptions = true,
            description = "Change a ready deployment's replica count: new replicas load in the background and take calls "
                    + "as each is ready; replicas that leave finish their calls first (those who may deploy it).")
    static final class Scale implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--replicas", required = true, description = "The replicas wanted (1 to 64).")
        int replicas;

        @Override
        public Integer call() {
            Deployment d = client.client().patch("/api/v1/deployments/" + id, java.util.Map.of("replicas", replicas),
                    Deployment.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, d);
            } else {
                out.println("Deployment " + d.id() + " of " + d.model() + ": " + d.readyReplicas() + " of "
                        + d.replicas() + " replica(s) ready");
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Unload a deployment (admins, and developers and project admins of its project).")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            Deployment d = client.client().delete("/api/v1/deployments/" + id, Deployment.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, d);
            } else {
                out.println("Deleted deployment " + d.id() + " of " + d.model());
                out.flush();
            }
            return 0;
        }
    }
}
