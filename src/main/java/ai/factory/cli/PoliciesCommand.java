package ai.factory.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory policies …}: the site's own Cedar policies; site admins only. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = "Add, list and delete site authorization policies written in Cedar (admin only).",
        subcommands = {PoliciesCommand.Add.class, PoliciesCommand.ListPolicies.class, PoliciesCommand.Delete.class,
                PoliciesCommand.Schema.class})
final class PoliciesCommand {
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
            JsonNode p = client.client().post("/api/v1/policies", Map.of("policy", source));
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.println("Added site policy " + p.path("id").asText() + " from " + file);
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
            JsonNode result = client.client().get("/api/v1/policies");
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, result);
                return 0;
            }
            for (JsonNode p : result.path("policies")) {
                out.printf("# %s (added %s by %s)%n%s%n", p.path("id").asText(), p.path("createdAt").asText(),
                        p.path("createdBy").asText(), p.path("source").asText().strip());
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
            JsonNode p = client.client().delete("/api/v1/policies/" + URLEncoder.encode(id, StandardCharsets.UTF_8));
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, p);
            } else {
                out.println("Deleted site policy " + p.path("id").asText());
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
            JsonNode s = client.client().get("/api/v1/policies/schema");
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                ModelsCommand.printJson(out, s);
            } else {
                out.print(s.path("schema").asText());
                out.flush();
            }
            return 0;
        }
    }
}
