package ai.factory.cli;

import ai.factory.api.codec.admin.PolicyWire;
import ai.factory.api.codec.admin.PolicyWire.AddPolicy;
import ai.factory.api.codec.admin.PolicyWire.Policy;
import ai.factory.api.codec.admin.PolicyWire.PolicyList;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory policies …}: the site's own Cedar policies; site admins only. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = "Add, list and delete site authorization policies written in Cedar (admin only).")
final class PoliciesCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Add.class, ListPolicies.class, Delete.class, Schema.class);

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = "Add the policies of a .cedar file; the server validates them against its schema first.")
    static final class Add implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "FILE.cedar")
        Path file;

        @Override
        public Integer call() {
            String source;
            try {
                source = Files.readString(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
            }
            Policy p = client.client().post("/api/v1/policies", new AddPolicy(source), Policy.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.println("Added site policy " + p.id() + " from " + file);
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the site policies with their source.")
    static final class ListPolicies implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            PolicyList result = client.client().get("/api/v1/policies", PolicyList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            for (Policy p : result.policies()) {
                out.printf("# %s (added %s by %s)%n%s%n", p.id(), p.createdAt(), p.createdBy(), p.source().strip());
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a site policy.")
    static final class Delete implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            Policy p = client.client().delete("/api/v1/policies/" + URLEncoder.encode(id, StandardCharsets.UTF_8),
                    Policy.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.println("Deleted site policy " + p.id());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "schema", mixinStandardHelpOptions = true,
            description = "Print the Cedar schema site policies are validated against.")
    static final class Schema implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            PolicyWire.Schema s = client.client().get("/api/v1/policies/schema", PolicyWire.Schema.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, s);
            } else {
                out.print(s.schema());
                out.flush();
            }
            return 0;
        }
    }
}
